// gbench_c.cc - the C API of gbench_c.h over Google Benchmark (1.7), and main().
//
// This is the only C++ in ibdcrypt. Each (spec, argument) pair becomes one Google Benchmark
// with a name built here ("<name>/<arg>[/<suffix>]"), so names stay stable whatever Google
// Benchmark does with arguments. Per-thread states live in a cache keyed by the benchmark and
// survive Google Benchmark's repeated calls (iteration-count probing, repetitions run back to
// back); they are torn down when a different benchmark starts, and at exit.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "gbench_c.h"

namespace {

struct Instance {
    gbc_spec spec;  // copy; spec.name/suffix point into the strings below
    std::string base, suffix, full;
    int64_t arg;
    // per-thread state, valid while this instance is the current one
    std::vector<void *> states;
    std::vector<double> bytes, pages;
    std::vector<char> ready; // char, not bool: threads write their own slots concurrently
    std::vector<std::string> errors;
};

std::deque<Instance> g_instances;  // stable addresses
std::mutex g_mu;
Instance *g_current = nullptr;
std::atomic<int> g_errors{0};  // benchmarks whose setup or run failed: main() exits 1

void TeardownLocked(Instance *in)
{
    for (size_t t = 0; t < in->states.size(); t++) {
        if (in->ready[t] && in->states[t] && in->spec.teardown)
            in->spec.teardown(in->states[t]);
        in->states[t] = nullptr;
        in->ready[t] = 0;
        in->errors[t].clear();
    }
}

// Make `in` the current instance (tearing down the previous one) and set up this thread's
// state if it has none. Google Benchmark runs one benchmark at a time, so when a thread of a
// new benchmark arrives no thread of the previous one is still running.
void *Acquire(Instance *in, int thread, int threads, double *bytes, double *pages,
              std::string *error)
{
    {
        std::lock_guard<std::mutex> lock(g_mu);
        if (g_current != in) {
            if (g_current)
                TeardownLocked(g_current);
            g_current = in;
        }
        if (in->states.size() < static_cast<size_t>(threads)) {
            in->states.resize(threads, nullptr);
            in->bytes.resize(threads, 0);
            in->pages.resize(threads, 0);
            in->ready.resize(threads, 0);
            in->errors.resize(threads);
        }
    }
    // Each thread sets up its own slot, outside the lock: setups of two threads run
    // concurrently (each allocates and first-touches its own memory).
    if (!in->ready[thread]) {
        gbc_ctx ctx;
        std::memset(&ctx, 0, sizeof(ctx));
        ctx.name = in->full.c_str();
        ctx.arg = in->arg;
        ctx.thread_index = thread;
        ctx.threads = threads;
        ctx.user = in->spec.user;
        ctx.bytes = in->spec.bytes;
        ctx.pages = in->spec.pages;
        void *st = in->spec.setup ? in->spec.setup(&ctx) : nullptr;
        in->states[thread] = st;
        in->bytes[thread] = ctx.bytes;
        in->pages[thread] = ctx.pages;
        in->errors[thread] = st ? "" : (ctx.error[0] ? ctx.error : "setup failed");
        in->ready[thread] = 1;
    }
    *bytes = in->bytes[thread];
    *pages = in->pages[thread];
    *error = in->errors[thread];
    return in->states[thread];
}

void RunInstance(benchmark::State &state, Instance *in)
{
    double bytes = 0, pages = 0;
    std::string error;
    void *st = Acquire(in, state.thread_index(), state.threads(), &bytes, &pages, &error);
    if (!st) {
        if (state.thread_index() == 0)
            g_errors++;
        state.SkipWithError(error.c_str());
        for (auto _ : state) {
        }
        return;
    }
    gbc_run_fn run = in->spec.run;
    const char *bad = nullptr;
    for (auto _ : state) {
        bad = run(st);
        if (bad) {
            g_errors++;
            state.SkipWithError(bad);
            break;
        }
    }
    if (bad)
        return;
    // Sums over threads; Google Benchmark divides by the (wall) time of the run.
    state.SetBytesProcessed(static_cast<int64_t>(bytes * static_cast<double>(state.iterations())));
    if (pages > 0)
        state.counters["pages_per_second"] = benchmark::Counter(
            pages * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

}  // namespace

extern "C" int gbc_register(const gbc_spec *spec)
{
    if (!spec || !spec->name || !spec->run || spec->nargs > GBC_MAX_ARGS)
        return -1;
    size_t n = spec->nargs ? spec->nargs : 1;
    for (size_t i = 0; i < n; i++) {
        g_instances.emplace_back();
        Instance &in = g_instances.back();
        in.spec = *spec;
        in.base = spec->name;
        in.suffix = spec->suffix ? spec->suffix : "";
        in.arg = spec->nargs ? spec->args[i] : 0;
        in.full = in.base;
        if (spec->nargs)
            in.full += "/" + std::to_string(in.arg);
        if (!in.suffix.empty())
            in.full += "/" + in.suffix;
        in.spec.name = in.base.c_str();
        in.spec.suffix = in.suffix.c_str();
        Instance *p = &in;
        auto *b = benchmark::RegisterBenchmark(
            in.full.c_str(), [p](benchmark::State &st) { RunInstance(st, p); });
        // One thread: Google Benchmark's default, the thread's CPU time (time the vCPU spends
        // descheduled by a neighbour does not count). Thread variants: wall-clock time, the
        // only measure that shows a speed-up; Google Benchmark names them ".../real_time/
        // threads:N".
        if (spec->threads >= 1)
            b->UseRealTime()->Threads(spec->threads);
    }
    return 0;
}

extern "C" void gbc_add_context(const char *key, const char *value)
{
    benchmark::AddCustomContext(key, value ? value : "");
}

int main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    ibc_bench_register_all();
    benchmark::RunSpecifiedBenchmarks();
    {
        std::lock_guard<std::mutex> lock(g_mu);
        if (g_current)
            TeardownLocked(g_current);
        g_current = nullptr;
    }
    ibc_bench_cleanup();
    benchmark::Shutdown();
    // A benchmark that could not set up or computed a wrong result is a failure, not a number.
    if (g_errors.load() > 0) {
        std::fprintf(stderr, "ibdcrypt-bench: %d benchmark run(s) failed (see the errors above)\n",
                     g_errors.load());
        return 1;
    }
    return 0;
}
