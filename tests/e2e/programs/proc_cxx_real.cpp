// An ordinary C++ program: std::thread workers building maps and strings, exceptions thrown and
// caught inside threads and across std::async, a std::exception_ptr carried between threads.
// Everything is freed; prints deterministic results and exits with status 4.
#include <algorithm>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

struct BadInput : std::runtime_error {
  using std::runtime_error::runtime_error;
};

long parse(const std::string& s) {
  if (s.find('x') != std::string::npos) throw BadInput("bad: " + s);
  return std::stol(s);
}

long work(int id, int& errors) {
  std::map<std::string, long> m;
  long total = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string key = std::to_string(id) + ":" + std::to_string(i) + (i % 7 == 0 ? "x" : "");
    try {
      m[key] = parse(key.substr(key.find(':') + 1));
      total += m[key];
    } catch (const BadInput&) {
      ++errors;
    }
  }
  auto owned = std::make_unique<std::vector<std::string>>(m.size(), std::string(40, 'y'));
  return total + long(owned->size());
}

}  // namespace

int main() {
  std::mutex lock;
  std::vector<std::string> lines;
  std::vector<std::thread> threads;
  std::exception_ptr carried;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([t, &lock, &lines, &carried] {
      int errors = 0;
      long r = work(t, errors);
      std::lock_guard<std::mutex> g(lock);
      lines.push_back("thread " + std::to_string(t) + ": " + std::to_string(r) + " errors " +
                      std::to_string(errors));
      if (t == 3) {
        try {
          throw std::out_of_range("from thread 3");
        } catch (...) {
          carried = std::current_exception();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  std::sort(lines.begin(), lines.end());
  for (const auto& l : lines) std::cout << l << "\n";
  auto f = std::async(std::launch::async, [] { return parse("12x"); });
  try {
    f.get();
  } catch (const BadInput& e) {
    std::cout << "async threw " << e.what() << "\n";
  }
  try {
    std::rethrow_exception(carried);
  } catch (const std::out_of_range& e) {
    std::cout << "carried " << e.what() << "\n";
  }
  return 4;
}
