// Threads that throw and catch exceptions (whose objects libstdc++ allocates with malloc) and use
// std::string / std::vector: output and exit status must not change under libleak, and the
// program's own callsites leak nothing.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

struct Failure : std::runtime_error {
  explicit Failure(const std::string& what) : std::runtime_error(what) {}
};

__attribute__((noinline)) void may_throw(int t, int i) {
  if (i % 3 == 0) throw Failure("thread " + std::to_string(t) + " round " + std::to_string(i));
}

__attribute__((noinline)) int worker(int t) {
  int caught = 0;
  std::vector<std::string> log;
  for (int i = 0; i < 300; ++i) {
    try {
      may_throw(t, i);
      log.push_back(std::string(40, char('a' + t)));
    } catch (const Failure& e) {
      ++caught;
      log.emplace_back(e.what());
    }
  }
  return caught + int(log.size());
}

int main() {
  std::vector<int> results(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([t, &results] { results[t] = worker(t); });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) std::printf("thread %d: %d\n", t, results[t]);
  try {
    throw std::out_of_range("main");
  } catch (const std::exception& e) {
    std::printf("main caught %s\n", e.what());
  }
  return 7;
}
