// File: custos/keystore/internal/file_util.h
//
// Crash-safe file helpers for the key-store module: atomic replacement
// (temporary file, fsync, rename, fsync of the folder), bounded reads,
// overwrite-then-unlink, and appending one record to a log.
//
// Private to custos/keystore.
#ifndef CUSTOS_KEYSTORE_INTERNAL_FILE_UTIL_H_
#define CUSTOS_KEYSTORE_INTERNAL_FILE_UTIL_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/secret_bytes.h"
#include "custos/core/status.h"

namespace custos::keystore::internal {

// Replaces `path` with `data` atomically: the bytes go to a new temporary
// file in the same folder (created with `mode`), which is fsynced and renamed
// over `path`, and then the folder is fsynced. On any error the temporary
// file is removed and `path` keeps its old content (or stays absent).
// Unavailable names the path and the failing step.
Status WriteFileAtomically(const std::string& path, std::span<const uint8_t> data,
                           mode_t mode = 0600);

// Creates `path` with `data` only if it does not exist yet, durably
// (O_EXCL, fsync, fsync of the folder). AlreadyExists if it exists.
Status CreateFileExclusively(const std::string& path, std::span<const uint8_t> data,
                             mode_t mode = 0600);

// Reads all of `path` into wiped-on-free memory. NotFound if it does not
// exist; ResourceExhausted if it is larger than `max_bytes`; Unavailable on
// other I/O errors.
StatusOr<SecretBytes> ReadFileSecret(const std::string& path, std::size_t max_bytes);

// Reads all of `path` (for data that is not secret). Same errors.
StatusOr<std::string> ReadFileText(const std::string& path, std::size_t max_bytes);

// Overwrites the content of `path` with zeros, fsyncs it, unlinks it and
// fsyncs its folder. NotFound if it does not exist.
Status OverwriteAndUnlink(const std::string& path);

// Appends `line` (a newline is added) to `path`, creating it with `mode`,
// and fsyncs it. Unavailable on error.
Status AppendLine(const std::string& path, std::string_view line, mode_t mode = 0600);

// Creates the folder `path` (and missing parents) with `mode`; OK if it
// exists already as a folder.
Status MakeDirectories(const std::string& path, mode_t mode = 0700);

// fsyncs the folder `path` so that renames and unlinks in it are durable.
Status SyncDirectory(const std::string& path);

// True if `path` exists (any file type).
bool PathExists(const std::string& path);

// The names of the entries of folder `path` (without "." and ".."), sorted.
// NotFound if the folder does not exist.
StatusOr<std::vector<std::string>> ListDirectory(const std::string& path);

// The folder part of `path` ("." if it has none).
std::string DirectoryOf(const std::string& path);

}  // namespace custos::keystore::internal

#endif  // CUSTOS_KEYSTORE_INTERNAL_FILE_UTIL_H_
