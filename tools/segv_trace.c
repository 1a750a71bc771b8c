// Where did a SIGSEGV come from, on a machine without gdb (the GPU image)?
//   cc -shared -fPIC -O1 -o /tmp/segv_trace.so tools/segv_trace.c -ldl
//   LD_PRELOAD=/tmp/segv_trace.so ./build/claa_tests "test name"
// prints the faulting pc, the return address at the top of the stack (a call through a null
// function pointer faults at pc 0 with the caller's return address there) and every stack word
// that points into a loaded object's text, as "object offset symbol" lines for addr2line -f -C.
// The test runner (Catch2) installs its own SIGSEGV handler: this library keeps its own by
// ignoring later sigaction() and signal() calls for SIGSEGV.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

typedef int (*SigactionFn)(int, const struct sigaction*, struct sigaction*);
static SigactionFn real_sigaction;
static int installed;

static void describe(const char* what, uintptr_t address) {
  Dl_info info;
  memset(&info, 0, sizeof info);
  if (!dladdr((void*)address, &info) || !info.dli_fname) return;
  fprintf(stderr, "segv_trace: %s %s 0x%lx %s\n", what, info.dli_fname,
          (unsigned long)(address - (uintptr_t)info.dli_fbase), info.dli_sname ? info.dli_sname : "?");
}

static void on_segv(int sig, siginfo_t* si, void* context) {
  ucontext_t* uc = (ucontext_t*)context;
#if defined(__x86_64__)
  const uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  const uintptr_t* sp = (const uintptr_t*)uc->uc_mcontext.gregs[REG_RSP];
#else
  const uintptr_t pc = 0;
  const uintptr_t* sp = (const uintptr_t*)&context;
#endif
  fprintf(stderr, "segv_trace: signal %d at pc %p, address %p\n", sig, (void*)pc, si->si_addr);
  describe("pc", pc);
  for (int i = 0; i < 256; ++i) describe(i == 0 ? "top" : "stack", sp[i]);
  fflush(stderr);
  _exit(128 + sig);
}

int sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
  if (!real_sigaction) real_sigaction = (SigactionFn)dlsym(RTLD_NEXT, "sigaction");
  if (installed && sig == SIGSEGV && act) return real_sigaction(sig, NULL, old);
  return real_sigaction(sig, act, old);
}

sighandler_t signal(int sig, sighandler_t handler) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, &old) != 0) return SIG_ERR;
  return old.sa_handler;
}

__attribute__((constructor)) static void install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, NULL);
  installed = 1;
}
