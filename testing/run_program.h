// File: testing/run_program.h
//
// Runs another program from a test (the custos binary, the openssl command
// line) and captures what it printed and how it ended.
#ifndef CUSTOS_TESTING_RUN_PROGRAM_H_
#define CUSTOS_TESTING_RUN_PROGRAM_H_

#include <string>
#include <vector>

namespace custos::testing {

// How a program run ended and what it printed.
struct ProgramResult {
  int exit_code = -1;  // the exit status, or 128 + the signal that ended it
  std::string out;     // standard output
  std::string err;     // standard error
};

// Runs `program` (a path, or a name looked up on PATH) with `args`, feeding
// `input` on its standard input, and waits for it to end.
ProgramResult RunProgram(const std::string& program, const std::vector<std::string>& args,
                         const std::string& input = "");

// The contents of the file at `path`, or "" if it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);

}  // namespace custos::testing

#endif  // CUSTOS_TESTING_RUN_PROGRAM_H_
