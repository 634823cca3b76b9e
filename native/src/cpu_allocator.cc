// A caching allocator for CPU tensor storage, registered with libtorch (c10::SetCPUAllocator) when
// the addon loads, in the spirit of PyTorch's CUDA caching allocator.
//
// Why: a training step frees gigabytes of activations and allocates them again in the next step.
// glibc hands large freed blocks back to the kernel and every step page-faults through them afresh
// (twice the step time of a ResNet18 pair, docs/RESULTS.md §2.1); telling glibc to keep everything
// (M_MMAP_MAX 0, no trimming: the policy this file replaces) put tensors and every small object of
// the process in one brk heap that variable-length batches fragmented and that never shrank (15 GB
// where 5 GB was live, issue #28).
//
// Design:
// - Requests below kLargeMin go to c10's allocator (posix_memalign, 64-byte aligned): glibc serves
//   and reuses them from its heap at little cost, and they are a small part of the bytes.
// - Larger requests are rounded up to whole pages and carved from arenas: address space reserved
//   with mmap (MAP_NORESERVE; a page costs memory once touched), filled from the bottom up. Free
//   blocks sit in a set ordered by size; a request takes the smallest free block that fits (best
//   fit) and splits off the rest when it is at least kLargeMin; a freed block merges with its free
//   neighbours (coalescing). Only when no free block fits does the arena's top move up.
// - Fragmentation bound: only tensors live in an arena (the brk heap also held every small object
//   of the process), and requests under kPoolSplit (parameters, optimizer state, statistics) have
//   arenas of their own, so long-lived small blocks never split the activations' space. Between
//   training steps the activations are all freed and coalesce into one free block, so any next step
//   fits in it: resident memory is the largest step's demand plus holes between long-lived blocks,
//   and it stops growing once the longest batch has been seen (test/torch/memory.test.ts measures
//   it; a design of per-request segments held twice the demand there). A block wastes less than
//   kLargeMin (the unsplit rest) plus a page.
// - Pages of free blocks stay resident (that is the point: no faults). emptyCache() gives them back
//   (madvise MADV_DONTNEED, the top lowered past a free tail); it runs between stages and runs.
// - A limit bounds what the process holds for tensors: reserved (allocated + cached free blocks,
//   small blocks included) never passes it. A request that would pass it first gives cached blocks
//   back; if that is not enough it throws c10::OutOfMemoryError with a message starting "CPU memory
//   limit", which the addon hands to JavaScript with code ERR_MMGAP_OUT_OF_MEMORY. Default: 80 % of
//   physical memory (or of the cgroup's limit); src/torch/memory.ts sets it from
//   MMGAP_CPU_MEMORY_LIMIT.
// - One mutex guards the arenas; small requests only touch atomic counters (and the mutex when
//   freed, to tell them from large blocks). Loader threads and OpenMP workers allocate safely.
// - The allocator is never destroyed: tensors freed during process exit still find it.
#include "bridge.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <c10/util/Exception.h>

#include <sys/mman.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

// Measured on ResNet18 steps (8 x 3 x 64 x 64, steps 6-15; test/torch/malloc.test.ts): 64 KiB ->
// 770-890 page faults, 256 KiB -> 1,962-2,818, 1 MiB -> 4,965-7,755, glibc alone 575,449.
constexpr size_t kLargeMin = size_t(64) << 10;
// Requests below kPoolSplit come from arenas of their own (see the design above).
constexpr size_t kPoolSplit = size_t(1) << 20;
constexpr size_t kPage = 4096;
// Address space per arena (only touched pages cost memory); a request larger than an arena gets one of its size.
constexpr size_t kSmallArena = size_t(1) << 30;
constexpr size_t kLargeArena = size_t(64) << 30;

size_t roundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

struct Arena;

struct Block {
  char* ptr;
  size_t size;
  bool free;
  bool released;  // free, and its pages given back to the system (not counted in reserved)
  Block* prev;    // neighbours in the arena, by address
  Block* next;
  Arena* arena;
};

struct Arena {
  char* base;
  size_t size;  // address space
  char* top;    // blocks cover [base, top)
  Block* last;  // the block ending at top, or null
  bool small;   // serves requests below kPoolSplit
};

struct BySize {
  bool operator()(const Block* a, const Block* b) const { return a->size != b->size ? a->size < b->size : a->ptr < b->ptr; }
};

std::atomic<int64_t> gAllocated{0}, gReserved{0}, gPeakAllocated{0}, gPeakReserved{0};
std::atomic<int64_t> gAllocs{0}, gLargeAllocs{0}, gCacheHits{0}, gGrown{0}, gGivenBack{0};
std::atomic<int64_t> gLimit{0};

void raisePeak(std::atomic<int64_t>& peak, int64_t v) {
  int64_t p = peak.load(std::memory_order_relaxed);
  while (v > p && !peak.compare_exchange_weak(p, v, std::memory_order_relaxed)) {
  }
}

void account(int64_t allocated, int64_t reserved) {
  if (allocated) raisePeak(gPeakAllocated, gAllocated.fetch_add(allocated) + allocated);
  if (reserved) raisePeak(gPeakReserved, gReserved.fetch_add(reserved) + reserved);
}

std::string mb(int64_t bytes) {
  std::ostringstream os;
  os.precision(0);
  os << std::fixed << static_cast<double>(bytes) / (1 << 20) << " MB";
  return os.str();
}

[[noreturn]] void overLimit(size_t n) {
  std::ostringstream os;
  os << "CPU memory limit reached: a tensor of " << mb(static_cast<int64_t>(n)) << " with " << mb(gAllocated.load()) << " in tensors and "
     << mb(gReserved.load()) << " held would pass the limit of " << mb(gLimit.load())
     << " (MMGAP_CPU_MEMORY_LIMIT; default 80 % of physical memory)";
  C10_THROW_ERROR(OutOfMemoryError, os.str());
}

class CachingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) const override {
    gAllocs++;
    void* p = n < kLargeMin ? allocateSmall(n) : allocateLarge(n);
    return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  // Gives every cached free block back to the system; returns the bytes.
  static int64_t emptyCache() {
    std::lock_guard<std::mutex> lock(mu());
    return giveBack(INT64_MAX);
  }

 private:
  static std::mutex& mu() {
    static auto* m = new std::mutex();
    return *m;
  }
  // The free blocks of the small arenas [0] and of the large ones [1].
  static std::set<Block*, BySize>& freeBlocks(bool small) {
    static auto* s = new std::set<Block*, BySize>[2];
    return s[small ? 0 : 1];
  }
  static std::unordered_map<void*, Block*>& live() {
    static auto* m = new std::unordered_map<void*, Block*>();
    return *m;
  }
  static std::vector<Arena*>& arenas() {
    static auto* v = new std::vector<Arena*>();
    return *v;
  }

  static size_t usable(void* p, size_t n) {
#ifdef __GLIBC__
    return malloc_usable_size(p);
#else
    return n;
#endif
  }

  static void* allocateSmall(size_t n) {
    const auto over = [n] { return static_cast<int64_t>(n) + gReserved.load(std::memory_order_relaxed) - gLimit.load(std::memory_order_relaxed); };
    if (over() > 0) {  // cached blocks make room first
      std::lock_guard<std::mutex> lock(mu());
      giveBack(over());
      if (over() > 0) overLimit(n);
    }
    void* p = c10::alloc_cpu(n);
    const auto u = static_cast<int64_t>(usable(p, n));
    account(u, u);
    return p;
  }

  // Gives cached free blocks back, largest first, until `want` bytes are (all of them for
  // INT64_MAX): a free block at an arena's top lowers the top, one inside is madvised. Arenas left
  // empty are unmapped. Caller holds the lock.
  static int64_t giveBack(int64_t want) {
    std::vector<Block*> cached;
    for (bool small : {true, false}) {
      for (auto* b : freeBlocks(small)) {
        if (!b->released) cached.push_back(b);
      }
    }
    std::sort(cached.begin(), cached.end(), [](Block* a, Block* b) { return a->size > b->size; });
    int64_t done = 0;
    for (auto* b : cached) {
      if (done >= want) break;
      madvise(b->ptr, b->size, MADV_DONTNEED);
      done += static_cast<int64_t>(b->size);
      Arena* a = b->arena;
      if (b == a->last) {
        freeBlocks(a->small).erase(b);
        a->top = b->ptr;
        a->last = b->prev;
        if (b->prev) b->prev->next = nullptr;
        delete b;
      } else {
        b->released = true;
      }
    }
    gReserved -= done;
    gGivenBack += done;
    auto& as = arenas();
    for (auto it = as.begin(); it != as.end();) {
      Arena* a = *it;
      if (a->top == a->base) {
        munmap(a->base, a->size);
        delete a;
        it = as.erase(it);
      } else {
        ++it;
      }
    }
    return done;
  }

  // Makes room under the limit for `bytes` more reserved, giving cached blocks back if needed;
  // throws when even that is not enough. Caller holds the lock.
  static void makeRoom(size_t bytes, size_t request) {
    const int64_t limit = gLimit.load();
    const auto need = static_cast<int64_t>(bytes);
    if (gReserved.load() + need > limit) giveBack(gReserved.load() + need - limit);
    if (gReserved.load() + need > limit) overLimit(request);
  }

  static void* allocateLarge(size_t n) {
    const size_t size = roundUp(n, kPage);
    const bool small = size < kPoolSplit;
    std::lock_guard<std::mutex> lock(mu());
    gLargeAllocs++;
    auto& fb = freeBlocks(small);
    Block key{nullptr, size, true, false, nullptr, nullptr, nullptr};
    auto it = fb.lower_bound(&key);
    Block* b = nullptr;
    if (it != fb.end()) {
      b = *it;
      if (b->released) {  // its pages are touched again (giving back cannot touch b: it is released)
        makeRoom(size, n);
        account(0, static_cast<int64_t>(size));
      }
      fb.erase(b);
      gCacheHits++;
    } else {
      b = grow(size, small, n);
    }
    if (b->size - size >= kLargeMin) {
      auto* rest = new Block{b->ptr + size, b->size - size, true, b->released, b, b->next, b->arena};
      if (b->next) b->next->prev = rest;
      else b->arena->last = rest;
      b->next = rest;
      b->size = size;
      fb.insert(rest);
    } else if (b->released && b->size > size) {
      account(0, static_cast<int64_t>(b->size - size));  // the unsplit rest is handed out with it
    }
    b->free = false;
    b->released = false;
    live().emplace(b->ptr, b);
    account(static_cast<int64_t>(b->size), 0);
    return b->ptr;
  }

  // A block of `size` at the top of an arena of the pool (a new arena when none has room); caller holds the lock.
  static Block* grow(size_t size, bool small, size_t request) {
    if (gAllocated.load() + static_cast<int64_t>(size) > gLimit.load()) overLimit(request);
    makeRoom(size, request);  // before looking at the arenas: giving back changes their tops
    gGrown++;
    for (Arena* a : arenas()) {
      if (a->small != small) continue;
      Block* last = a->last;
      if (last && last->free) {
        // Extend the free block at the top: what it lacks comes from above it.
        const size_t extra = size - last->size;
        if (static_cast<size_t>(a->base + a->size - a->top) < extra) continue;
        freeBlocks(small).erase(last);
        account(0, static_cast<int64_t>(last->released ? size : extra));
        last->size = size;
        last->released = false;
        a->top += extra;
        return last;
      }
      if (static_cast<size_t>(a->base + a->size - a->top) < size) continue;
      account(0, static_cast<int64_t>(size));
      auto* b = new Block{a->top, size, true, false, last, nullptr, a};
      if (last) last->next = b;
      a->last = b;
      a->top += size;
      return b;
    }
    account(0, static_cast<int64_t>(size));
    const size_t span = std::max(small ? kSmallArena : kLargeArena, roundUp(size, kPage));
    void* base = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    size_t got = span;
    if (base == MAP_FAILED) {  // strict overcommit: ask for the request alone
      got = roundUp(size, kPage);
      base = mmap(nullptr, got, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }
    if (base == MAP_FAILED) {
      gReserved -= static_cast<int64_t>(size);
      C10_THROW_ERROR(OutOfMemoryError, "CPU memory: the system refused " + mb(static_cast<int64_t>(size)) + " (mmap failed) with " +
                      mb(gReserved.load()) + " held for tensors");
    }
    auto* a = new Arena{static_cast<char*>(base), got, static_cast<char*>(base) + size, nullptr, small};
    a->last = new Block{a->base, size, true, false, nullptr, nullptr, a};
    arenas().push_back(a);
    return a->last;
  }

  static void release(void* p) {
    if (!p) return;
    {
      std::lock_guard<std::mutex> lock(mu());
      auto& lv = live();
      auto it = lv.find(p);
      if (it != lv.end()) {
        Block* b = it->second;
        lv.erase(it);
        gAllocated -= static_cast<int64_t>(b->size);
        b->free = true;
        auto& fb = freeBlocks(b->arena->small);
        // Merges the free block `gone` (out of the set) into `into`, its left neighbour. A released
        // neighbour counts as reserved again: its pages are touched when the merged block is used.
        auto merge = [](Block* into, Block* gone) {
          into->size += gone->size;
          into->next = gone->next;
          if (gone->next) gone->next->prev = into;
          else into->arena->last = into;
          delete gone;
        };
        for (Block* n : {b->prev, b->next}) {
          if (n && n->free) {
            fb.erase(n);
            if (n->released) account(0, static_cast<int64_t>(n->size));
            n->released = false;
          }
        }
        if (b->prev && b->prev->free) {
          Block* a = b->prev;
          merge(a, b);
          b = a;
        }
        if (b->next && b->next->free) merge(b, b->next);
        fb.insert(b);
        return;
      }
    }
    const auto u = static_cast<int64_t>(usable(p, 0));
    gAllocated -= u;
    gReserved -= u;
    c10::free_cpu(p);
  }
};

// 80 % of physical memory, or of the cgroup's limit where that is lower.
int64_t defaultLimit() {
  double total = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
  for (const char* f : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream in(f);
    double v = 0;
    if (in >> v && v > 0 && v < total) total = v;
  }
  return static_cast<int64_t>(0.8 * total);
}

Napi::Value MemoryStats(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto o = Napi::Object::New(env);
  auto set = [&](const char* k, int64_t v) { o.Set(k, Napi::Number::New(env, static_cast<double>(v))); };
  set("allocated", gAllocated.load());
  set("reserved", gReserved.load());
  set("peakAllocated", gPeakAllocated.load());
  set("peakReserved", gPeakReserved.load());
  set("allocs", gAllocs.load());
  set("largeAllocs", gLargeAllocs.load());
  set("cacheHits", gCacheHits.load());
  set("grown", gGrown.load());
  set("givenBack", gGivenBack.load());
  set("limit", gLimit.load());
  return o;
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(CachingCpuAllocator::emptyCache()));
}

Napi::Value ResetPeakStats(const Napi::CallbackInfo& info) {
  gPeakAllocated = gAllocated.load();
  gPeakReserved = gReserved.load();
  return info.Env().Undefined();
}

Napi::Value SetMemoryLimit(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  double v = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(v >= 1)) throw Napi::RangeError::New(env, "setMemoryLimit: expected a number of bytes >= 1, got " + mmgap::describe(env, info[0]));
  gLimit = v >= 9.2e18 ? INT64_MAX : static_cast<int64_t>(v);
  return env.Undefined();
}

}  // namespace

namespace mmgap {

const char* installCpuAllocator() {
  static const char* installed = [] {
    gLimit = defaultLimit();
    const char* choice = std::getenv("MMGAP_MALLOC");
    if (choice && std::string(choice) == "system") return "system";
    static auto* alloc = new CachingCpuAllocator();
    c10::SetCPUAllocator(alloc, /*priority=*/1);
    return "caching";
  }();
  return installed;
}

void registerCpuAllocator(Napi::Env env, Napi::Object exports) {
  exports.Set("cpuAllocator", Napi::String::New(env, installCpuAllocator()));
  const std::pair<const char*, Export> fns[] = {
    {"memoryStats", MemoryStats},
    {"emptyCache", EmptyCache},
    {"resetPeakStats", ResetPeakStats},
    {"setMemoryLimit", SetMemoryLimit},
  };
  for (const auto& [name, fn] : fns) exportGuarded(env, exports, name, fn);
}

}  // namespace mmgap
