// Command lines of the examples, one rule for all of them: a usage error (an unknown option, a
// value that does not convert or is out of range, a value the program rejects after parsing) is
// one line on stderr, "<program>: <what> (see --help)", and exit status 2; any other failure is
// one line "<program>: <what>" and exit status 1; --help prints the help and exits 0.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

namespace examples {

/// Exit status of a usage error (as the shells' built-ins and getopt programs use).
inline constexpr int usage_status = 2;

/// A value given on the command line that the program rejects after parsing (exit status 2).
struct usage_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

/// Parses argv into `app`. Returns -1 to go on, else the exit status to return from main
/// (0 after printing the help, usage_status after printing the one-line error).
inline int parse_command_line(CLI::App& app, int argc, char** argv, const char* program) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", program, e.what());
    return usage_status;
  }
  return -1;
}

/// The one line for an exception that ended main, and the exit status: usage_status for a
/// usage_error, else 1.
inline int report_failure(const char* program, const std::exception& e) {
  if (dynamic_cast<const usage_error*>(&e) != nullptr) {
    std::fprintf(stderr, "%s: %s (see --help)\n", program, e.what());
    return usage_status;
  }
  std::fprintf(stderr, "%s: %s\n", program, e.what());
  return 1;
}

}  // namespace examples
