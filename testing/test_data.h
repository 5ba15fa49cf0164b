// File: testing/test_data.h
//
// Locates the shared test vectors (../shared/data) at run time: the
// CUSTOS_DATA_DIR environment variable (CTest sets it), else the folder the
// build was configured with.
#ifndef CUSTOS_TESTING_TEST_DATA_H_
#define CUSTOS_TESTING_TEST_DATA_H_

#include <string>
#include <string_view>
#include <vector>

#include "custos/core/kat_reader.h"

namespace custos::testing {

// Returns the absolute path of `relative` (e.g. "kat/ascon/LWC_HASH_KAT_128_256.txt").
std::string TestDataPath(std::string_view relative);

// Reads a KAT file under the data folder; fails the calling test (ADD_FAILURE)
// and returns no records if it cannot be read or parsed.
std::vector<KatRecord> LoadKat(std::string_view relative, KatFormat format);

}  // namespace custos::testing

#endif  // CUSTOS_TESTING_TEST_DATA_H_
