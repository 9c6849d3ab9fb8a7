// The C ABI over Gloo that GlooCollective (training/Distributed) calls. See k8straining_gloo.h for the contract.
#include "k8straining_gloo.h"

#include <chrono>
#include <cstdlib>
#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/store.h>
#include <gloo/transport/tcp/device.h>

namespace {

thread_local std::string last_error;

// Thrown by the store when a callback fails; the caller already knows why (it keeps its own exception).
struct StoreFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Gloo's Store over the caller's callbacks.
class CallbackStore final : public gloo::rendezvous::Store {
 public:
  CallbackStore(void* user, k8st_gloo_store_set_fn set, k8st_gloo_store_get_fn get, k8st_gloo_store_wait_fn wait,
                std::chrono::milliseconds timeout)
      : user_(user), set_(set), get_(get), wait_(wait), timeout_(timeout) {}

  void set(const std::string& key, const std::vector<char>& data) override {
    if (set_(user_, key.c_str(), data.data(), data.size()) != 0) {
      throw StoreFailure("rendezvous store: set of key '" + key + "' failed");
    }
  }

  std::vector<char> get(const std::string& key) override {
    void* value = nullptr;
    size_t size = 0;
    if (get_(user_, key.c_str(), &value, &size) != 0) {
      std::free(value);
      throw StoreFailure("rendezvous store: get of key '" + key + "' failed");
    }
    std::vector<char> result(static_cast<char*>(value), static_cast<char*>(value) + size);
    std::free(value);
    return result;
  }

  void wait(const std::vector<std::string>& keys) override { wait(keys, timeout_); }

  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override {
    std::vector<const char*> raw;
    raw.reserve(keys.size());
    for (const auto& key : keys) raw.push_back(key.c_str());
    if (wait_(user_, raw.data(), raw.size(), static_cast<int64_t>(timeout.count())) != 0) {
      throw StoreFailure("rendezvous store: wait for " + std::to_string(keys.size()) + " key(s) failed");
    }
  }

 private:
  void* user_;
  k8st_gloo_store_set_fn set_;
  k8st_gloo_store_get_fn get_;
  k8st_gloo_store_wait_fn wait_;
  std::chrono::milliseconds timeout_;
};

// Runs body, turning every exception into a status code and the thread's last error.
template <typename Body>
int guarded(const char* what, Body&& body) noexcept {
  last_error.clear();
  try {
    body();
    return K8ST_GLOO_OK;
  } catch (const StoreFailure& e) {
    last_error = std::string(what) + ": " + e.what();
    return K8ST_GLOO_STORE_ERROR;
  } catch (const gloo::IoException& e) {
    last_error = std::string(what) + ": " + e.what();
    return K8ST_GLOO_IO_ERROR;
  } catch (const std::invalid_argument& e) {
    last_error = std::string(what) + ": " + e.what();
    return K8ST_GLOO_INVALID_ARGUMENT;
  } catch (const std::exception& e) {
    last_error = std::string(what) + ": " + e.what();
    return K8ST_GLOO_ERROR;
  } catch (...) {
    last_error = std::string(what) + ": unknown error";
    return K8ST_GLOO_ERROR;
  }
}

}  // namespace

struct k8st_gloo_context {
  std::shared_ptr<gloo::rendezvous::Context> context;
  std::chrono::milliseconds timeout;
  // Every rank issues the same operations in the same order, so the same counter value names the same operation on
  // every rank; a fresh tag per operation keeps a late message of one from being taken for the next.
  uint32_t next_tag = 0;
};

namespace {

void check_context(const k8st_gloo_context* context) {
  if (context == nullptr || !context->context) throw std::invalid_argument("the context is null or destroyed");
}

template <typename T>
void allreduce_sum(k8st_gloo_context* context, T* data, size_t count) {
  check_context(context);
  if (data == nullptr && count > 0) throw std::invalid_argument("the buffer is null");
  if (count == 0) return;
  gloo::AllreduceOptions opts(context->context);
  opts.setAlgorithm(gloo::AllreduceOptions::Algorithm::RING);
  opts.setOutput(data, count);
  opts.setReduceFunction(static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::sum<T>));
  opts.setTag(context->next_tag++);
  opts.setTimeout(context->timeout);
  gloo::allreduce(opts);
}

}  // namespace

extern "C" {

int k8st_gloo_connect(int rank, int size, const char* bind_host, int64_t timeout_ms, void* user,
                      k8st_gloo_store_set_fn set, k8st_gloo_store_get_fn get, k8st_gloo_store_wait_fn wait,
                      k8st_gloo_context** out) {
  return guarded("gloo connect", [&] {
    if (out == nullptr) throw std::invalid_argument("out is null");
    *out = nullptr;
    if (size < 1 || rank < 0 || rank >= size) {
      throw std::invalid_argument("rank " + std::to_string(rank) + " is outside a group of " + std::to_string(size));
    }
    if (bind_host == nullptr || *bind_host == '\0') throw std::invalid_argument("the bind host is empty");
    if (set == nullptr || get == nullptr || wait == nullptr) throw std::invalid_argument("a store callback is null");
    if (timeout_ms <= 0) throw std::invalid_argument("the timeout must be positive");
    const std::chrono::milliseconds timeout(timeout_ms);

    gloo::transport::tcp::attr attr;
    attr.hostname = bind_host;
    auto device = gloo::transport::tcp::CreateDevice(attr);
    CallbackStore store(user, set, get, wait, timeout);
    auto context = std::make_shared<gloo::rendezvous::Context>(rank, size);
    context->setTimeout(timeout);
    context->connectFullMesh(store, device);

    auto result = std::make_unique<k8st_gloo_context>();
    result->context = std::move(context);
    result->timeout = timeout;
    *out = result.release();
  });
}

int k8st_gloo_allreduce_sum_f32(k8st_gloo_context* context, float* data, size_t count) {
  return guarded("gloo all-reduce (float32)", [&] { allreduce_sum(context, data, count); });
}

int k8st_gloo_allreduce_sum_f64(k8st_gloo_context* context, double* data, size_t count) {
  return guarded("gloo all-reduce (float64)", [&] { allreduce_sum(context, data, count); });
}

int k8st_gloo_broadcast(k8st_gloo_context* context, void* data, size_t size, int root) {
  return guarded("gloo broadcast", [&] {
    check_context(context);
    if (root < 0 || root >= context->context->size) {
      throw std::invalid_argument("root " + std::to_string(root) + " is outside a group of " +
                                  std::to_string(context->context->size));
    }
    if (data == nullptr && size > 0) throw std::invalid_argument("the buffer is null");
    if (size == 0) return;
    gloo::BroadcastOptions opts(context->context);
    opts.setOutput(static_cast<uint8_t*>(data), size);
    opts.setRoot(root);
    opts.setTag(context->next_tag++);
    opts.setTimeout(context->timeout);
    gloo::broadcast(opts);
  });
}

int k8st_gloo_barrier(k8st_gloo_context* context) {
  return guarded("gloo barrier", [&] {
    check_context(context);
    gloo::BarrierOptions opts(context->context);
    opts.setTag(context->next_tag++);
    opts.setTimeout(context->timeout);
    gloo::barrier(opts);
  });
}

void k8st_gloo_destroy(k8st_gloo_context* context) {
  // Destroying closes the pairs' sockets, which is how the peers learn that this rank is gone.
  guarded("gloo destroy", [&] { delete context; });
}

const char* k8st_gloo_last_error(void) { return last_error.c_str(); }

}  // extern "C"
