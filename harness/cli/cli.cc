#include "harness/cli/cli.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace pollstorm::cli {
namespace {

// What a non-regular file is, for the message.
const char* FileType(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

std::string Quoted(const std::string& path) { return "'" + Shown(path) + "'"; }

std::string Dir(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::optional<uint64_t> ParseUint(std::string_view s, uint64_t lo, uint64_t hi) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (v < lo || v > hi) return std::nullopt;
  return v;
}

std::string Shown(std::string_view s) {
  constexpr size_t kMax = 160;
  std::string o;
  for (size_t i = 0; i < s.size() && i < kMax; i++) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      o += static_cast<char>(c);
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      o += b;
    }
  }
  if (s.size() > kMax) o += "... (" + std::to_string(s.size()) + " bytes)";
  return o;
}

std::string ShellQuote(std::string_view s) {
  bool safe = !s.empty();
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::strchr("/._-+:=,@%", c) != nullptr;
    safe &= ok && c != '\0';
  }
  if (safe) return std::string(s);
  std::string o = "'";
  for (char c : s) {
    if (c == '\'') o += "'\\''";
    else o += c;
  }
  return o + "'";
}

std::string ReadInput(const std::string& path, size_t max_bytes, std::string* data) {
  if (path.empty()) return "an empty path is not a file";
  // O_NONBLOCK: opening a FIFO for reading with no writer would block here.
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return "cannot read " + Quoted(path) + ": " + std::strerror(errno);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    close(fd);
    return "cannot stat " + Quoted(path) + ": " + std::strerror(e);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return Quoted(path) + " is " + FileType(st.st_mode) + ", not a regular file";
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    close(fd);
    return Quoted(path) + " is too large (" + std::to_string(st.st_size) + " bytes; at most " +
           std::to_string(max_bytes) + ")";
  }
  data->clear();
  char buf[65536];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      close(fd);
      return "cannot read " + Quoted(path) + ": " + std::strerror(e);
    }
    if (n == 0) break;
    data->append(buf, static_cast<size_t>(n));
    if (data->size() > max_bytes) {  // it grew while we read
      close(fd);
      return Quoted(path) + " is too large (more than " + std::to_string(max_bytes) + " bytes)";
    }
  }
  close(fd);
  return "";
}

std::string CheckOutput(const std::string& what, const std::string& path) {
  if (path.empty()) return what + ": an empty path";
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) return what + " " + Quoted(path) + " is " + FileType(st.st_mode) + ", not a regular file";
    if (access(path.c_str(), W_OK) != 0) return what + " " + Quoted(path) + " is not writable";
  }
  const std::string dir = Dir(path);
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return what + " " + Quoted(path) + ": no folder " + Quoted(dir);
  }
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    return what + " " + Quoted(path) + ": folder " + Quoted(dir) + " is not writable";
  }
  return "";
}

std::string WriteOutput(const std::string& path, std::string_view data) {
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    return Quoted(path) + " is " + FileType(st.st_mode) + ", not a regular file";
  }
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return "cannot write " + Quoted(tmp) + ": " + std::strerror(errno);
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      close(fd);
      unlink(tmp.c_str());
      return "cannot write " + Quoted(tmp) + ": " + std::strerror(e);
    }
    off += static_cast<size_t>(n);
  }
  if (close(fd) != 0 || rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    unlink(tmp.c_str());
    return "cannot write " + Quoted(path) + ": " + std::strerror(e);
  }
  return "";
}

bool Exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

void ExitNow(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  _exit(code);
}

}  // namespace pollstorm::cli
