// PyTorch's distributed engine (c10d) for mmgap: a process group per rank, rendezvous through
// c10d::TCPStore, blocking collectives on single tensors, and c10d::Reducer (DDP's bucketed
// gradient all-reduce, launched from autograd hooks while backward still runs). Only the engine
// calls live here; ranks, launching, sharding and error wording are TypeScript's
// (src/torch/distributed.ts).
#define USE_C10D_GLOO 1
#if defined(MMGAP_CUDA) && __has_include(<nccl.h>)
#define USE_C10D_NCCL 1
#endif

#include "bridge.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#include <torch/csrc/distributed/c10d/logger.hpp>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

namespace mmgap {
namespace {

// Tags the externals made here, so that a stray value is never taken for a group or a reducer.
const napi_type_tag kGroupTag = {0x6d6d676170706773ULL, 0x63313064676c6f6fULL};
const napi_type_tag kReducerTag = {0x6d6d676170726564ULL, 0x63313064726564ULL};

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  std::chrono::milliseconds timeout;
};

struct ReducerBox {
  std::shared_ptr<c10d::Reducer> reducer;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;  // outlives the reducer
  // The reducer reports to a logger, which it dereferences unchecked when the set of unused
  // parameters changes between steps (MLA trains one encoder per step): PyTorch's DDP always
  // gives it one, and so do we. Declared last, so destroyed before the reducer it holds.
  std::shared_ptr<c10d::Logger> logger;
};

template <class T>
Napi::Value tagged(Napi::Env env, T* p, const napi_type_tag& tag) {
  auto ext = Napi::External<T>::New(env, p, [](Napi::BasicEnv, T* q) { delete q; });
  if (napi_type_tag_object(env, ext, &tag) != napi_ok) throw Napi::Error::New(env, "mmgap: could not tag a distributed handle");
  return ext;
}

template <class T>
T* untag(Napi::Env env, const Napi::Value& v, const napi_type_tag& tag, const char* what) {
  bool ok = false;
  if (v.IsExternal()) napi_check_object_type_tag(env, v, &tag, &ok);
  if (!ok) throw Napi::TypeError::New(env, std::string(what) + ": expected a handle made by the addon");
  return v.As<Napi::External<T>>().Data();
}

Group& groupOf(Napi::Env env, const Napi::Value& v) {
  auto* g = untag<Group>(env, v, kGroupTag, "process group");
  if (!g->pg) throw Napi::Error::New(env, "process group: used after shutdown()");
  return *g;
}

int64_t intField(Napi::Env env, const Napi::Object& o, const char* key) {
  auto v = o.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("distInit: '") + key + "' must be a number");
  return v.As<Napi::Number>().Int64Value();
}

std::string strField(const Napi::Object& o, const char* key) {
  auto v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

// Waits for a collective; a peer that died or fell silent past the group's timeout makes it throw.
void finish(const c10::intrusive_ptr<c10d::Work>& work) { work->wait(); }

// distInit({ backend, host, port, rank, worldSize, timeoutMs, ifname, deviceHost }) -> group.
// Rank 0 serves the store at host:port; every rank connects to it, then the backend meets its
// peers through the store. Blocks until all ranks have arrived or timeoutMs has passed.
Napi::Value DistInit(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "distInit(options)");
  auto o = info[0].As<Napi::Object>();
  const std::string backend = strField(o, "backend");
  const std::string host = strField(o, "host");
  const int64_t port = intField(env, o, "port"), rank = intField(env, o, "rank"), size = intField(env, o, "worldSize");
  const std::chrono::milliseconds timeout(intField(env, o, "timeoutMs"));
  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(port);
  so.isServer = rank == 0;
  so.numWorkers = static_cast<std::size_t>(size);
  so.waitWorkers = true;
  so.timeout = timeout;
  auto* g = new Group();
  std::unique_ptr<Group> owned(g);
  g->timeout = timeout;
  g->store = c10::make_intrusive<c10d::TCPStore>(host, so);
  if (backend == "gloo") {
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    const std::string ifname = strField(o, "ifname"), deviceHost = strField(o, "deviceHost");
    opts->devices.push_back(!ifname.empty() ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
                            : !deviceHost.empty() ? c10d::ProcessGroupGloo::createDeviceForHostname(deviceHost)
                                                  : c10d::ProcessGroupGloo::createDefaultDevice());
    opts->threads = 2;
    g->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(g->store, static_cast<int>(rank), static_cast<int>(size), opts);
  } else if (backend == "nccl") {
#ifdef USE_C10D_NCCL
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    g->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(g->store, static_cast<int>(rank), static_cast<int>(size), opts);
#else
    throw Napi::Error::New(env, "distInit: backend nccl needs a libtorch built with CUDA and NCCL, and this one has neither. Fix: use backend gloo");
#endif
  } else {
    throw Napi::TypeError::New(env, "distInit: backend must be \"gloo\" or \"nccl\", got \"" + backend + "\"");
  }
  return tagged(env, owned.release(), kGroupTag);
}

// distShutdown(group): drops the process group and the store connection now (not at GC).
Napi::Value DistShutdown(const Napi::CallbackInfo& info) {
  auto* g = untag<Group>(info.Env(), info[0], kGroupTag, "process group");
  g->pg.reset();
  g->store.reset();
  return info.Env().Undefined();
}

c10d::ReduceOp reduceOp(Napi::Env env, const Napi::Value& v) {
  const std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "sum") return c10d::ReduceOp::SUM;
  if (s == "max") return c10d::ReduceOp::MAX;
  if (s == "min") return c10d::ReduceOp::MIN;
  if (s == "product") return c10d::ReduceOp::PRODUCT;
  throw Napi::TypeError::New(env, "allReduce: op must be sum, max, min or product, got " + describe(env, v));
}

const at::Tensor& denseArg(Napi::Env env, const Napi::Value& v, const char* what) {
  const auto& t = tensorOf(env, v, what);
  if (!t.is_contiguous()) throw Napi::Error::New(env, std::string(what) + ": collectives need a contiguous tensor, got a strided " + shapeStr(t));
  return t;
}

// distAllReduce(group, t, op): reduces t in place over all ranks.
Napi::Value DistAllReduce(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& g = groupOf(env, info[0]);
  std::vector<at::Tensor> ts{denseArg(env, info[1], "allReduce")};
  c10d::AllreduceOptions opts;
  opts.reduceOp = reduceOp(env, info[2]);
  finish(g.pg->allreduce(ts, opts));
  return env.Undefined();
}

// distBroadcast(group, t, root): copies root's t into every rank's t.
Napi::Value DistBroadcast(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& g = groupOf(env, info[0]);
  std::vector<at::Tensor> ts{denseArg(env, info[1], "broadcast")};
  c10d::BroadcastOptions opts;
  opts.rootRank = info[2].IsNumber() ? info[2].As<Napi::Number>().Int64Value() : 0;
  finish(g.pg->broadcast(ts, opts));
  return env.Undefined();
}

// distAllGather(group, t) -> [t of rank 0, t of rank 1, ...] (every rank's t has the same shape).
Napi::Value DistAllGather(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& g = groupOf(env, info[0]);
  std::vector<at::Tensor> in{denseArg(env, info[1], "allGather")};
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < g.pg->getSize(); r++) out[0].push_back(at::empty_like(in[0]));
  finish(g.pg->allgather(out, in));
  auto arr = Napi::Array::New(env, out[0].size());
  for (size_t r = 0; r < out[0].size(); r++) arr.Set(static_cast<uint32_t>(r), wrapTensor(env, out[0][r]));
  return arr;
}

Napi::Value DistBarrier(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  finish(groupOf(env, info[0]).pg->barrier());
  return env.Undefined();
}

// The backward of distAllReduceGrad: y = the sum over ranks of x, and every rank's loss depends on
// y, so dL/dx on a rank is the sum over ranks of their dL/dy: the gradient is all-reduced too.
// Every rank runs this node at the same point of its backward (same model, same graph), so the
// collectives pair up as the forward's did.
struct AllReduceSumBackward : torch::autograd::Node {
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  std::vector<int64_t> sizes;
  at::TensorOptions options;
  std::string name() const override { return "mmgap::AllReduceSumBackward"; }
  torch::autograd::variable_list apply(torch::autograd::variable_list&& grads) override {
    // A gradient that did not reach y is zero here, but the peers still wait for this rank's part.
    at::Tensor g = grads[0].defined() ? grads[0].contiguous().clone() : at::zeros(sizes, options);
    std::vector<at::Tensor> ts{g};
    finish(pg->allreduce(ts));
    return {g};
  }
};

// distAllReduceGrad(group, t) -> a new tensor, the sum of t over all ranks, differentiable: its
// backward all-reduces the gradient (SyncBatchNorm's statistics are built on it).
Napi::Value DistAllReduceGrad(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& g = groupOf(env, info[0]);
  const auto& x = tensorOf(env, info[1], "allReduceGrad");
  at::Tensor y;
  {
    at::NoGradGuard noGrad;
    y = x.detach().clone(at::MemoryFormat::Contiguous);
  }
  std::vector<at::Tensor> ts{y};
  finish(g.pg->allreduce(ts));
  if (x.requires_grad() && c10::GradMode::is_enabled()) {
    auto node = std::shared_ptr<AllReduceSumBackward>(new AllReduceSumBackward(), torch::autograd::deleteNode);
    node->pg = g.pg;
    node->sizes = x.sizes().vec();
    node->options = x.options();
    node->set_next_edges(torch::autograd::collect_next_edges(x));
    torch::autograd::set_history(y, node);
  }
  return wrapTensor(env, y);
}

// ddpReducer(group, params[], bucketBytes, firstBucketBytes, findUnused) -> reducer. Buckets
// are assigned in reverse parameter order, as PyTorch's DDP does: gradients become ready from
// the last layer back, so the first bucket to fill is reduced while backward continues.
Napi::Value DdpReducer(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& g = groupOf(env, info[0]);
  if (!info[1].IsArray()) throw Napi::TypeError::New(env, "ddpReducer: params must be an array of tensors");
  auto arr = info[1].As<Napi::Array>();
  std::vector<at::Tensor> params;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    const auto& p = tensorOf(env, arr.Get(i), "ddpReducer param");
    if (!p.requires_grad()) throw Napi::Error::New(env, "ddpReducer: parameter " + std::to_string(i) + " (" + shapeStr(p) + ") does not require grad");
    params.push_back(p);
  }
  const auto bucketBytes = static_cast<size_t>(info[2].As<Napi::Number>().Int64Value());
  const auto firstBytes = static_cast<size_t>(info[3].As<Napi::Number>().Int64Value());
  const bool findUnused = info[4].ToBoolean();
  std::vector<bool> sparse(params.size(), false);
  auto [buckets, limits] = c10d::compute_bucket_assignment_by_size(params, {firstBytes, bucketBytes}, sparse);
  std::reverse(buckets.begin(), buckets.end());
  std::reverse(limits.begin(), limits.end());
  auto* box = new ReducerBox();
  std::unique_ptr<ReducerBox> owned(box);
  box->pg = g.pg;
  box->reducer = std::make_shared<c10d::Reducer>(params, buckets, limits, g.pg, sparse, static_cast<int64_t>(bucketBytes), findUnused,
                                                 /*gradient_as_bucket_view=*/false, std::unordered_map<size_t, std::string>(),
                                                 static_cast<int64_t>(firstBytes));
  box->logger = std::make_shared<c10d::Logger>(box->reducer);
  box->reducer->set_logger(box->logger);
  return tagged(env, owned.release(), kReducerTag);
}

// ddpPrepareBackward(reducer, outputs[]): arms the reducer for the next backward. With
// findUnused, `outputs` (the loss) is where the search for parameters outside the graph starts.
Napi::Value DdpPrepareBackward(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto* box = untag<ReducerBox>(env, info[0], kReducerTag, "reducer");
  if (!box->reducer) throw Napi::Error::New(env, "reducer: used after release()");
  std::vector<at::Tensor> outputs;
  if (info[1].IsArray()) {
    auto a = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) outputs.push_back(tensorOf(env, a.Get(i), "ddpPrepareBackward output"));
  }
  box->reducer->prepare_for_forward();
  box->reducer->prepare_for_backward(outputs);
  return env.Undefined();
}

// ddpRelease(reducer): removes the reducer's autograd hooks now.
Napi::Value DdpRelease(const Napi::CallbackInfo& info) {
  auto* box = untag<ReducerBox>(info.Env(), info[0], kReducerTag, "reducer");
  box->logger.reset();
  box->reducer.reset();
  return info.Env().Undefined();
}

// seededRandn(like, seed) -> standard normal numbers shaped like `like` (its dtype and device)
// from a generator of their own, seeded with `seed`: every rank that asks with the same seed draws
// the same numbers, and libtorch's default generator (dropout, the epoch's seeding) is untouched.
Napi::Value SeededRandn(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const auto& like = tensorOf(env, info[0], "seededRandn");
  if (!info[1].IsNumber()) throw Napi::TypeError::New(env, "seededRandn(like, seed: number)");
  at::Generator def = at::globalContext().defaultGenerator(like.device());
  at::Generator gen;
  {
    std::lock_guard<std::mutex> lock(def.mutex());
    gen = def.clone();
  }
  gen.set_current_seed(static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value()));
  return wrapTensor(env, at::randn(like.sizes(), gen, like.options()));
}

}  // namespace

void registerDistributed(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Export> fns[] = {
    {"distInit", DistInit},
    {"distShutdown", DistShutdown},
    {"distAllReduce", DistAllReduce},
    {"distBroadcast", DistBroadcast},
    {"distAllGather", DistAllGather},
    {"distBarrier", DistBarrier},
    {"distAllReduceGrad", DistAllReduceGrad},
    {"ddpReducer", DdpReducer},
    {"ddpPrepareBackward", DdpPrepareBackward},
    {"ddpRelease", DdpRelease},
    {"seededRandn", SeededRandn},
  };
  for (const auto& [name, fn] : fns) exportGuarded(env, exports, name, fn);
}

}  // namespace mmgap
