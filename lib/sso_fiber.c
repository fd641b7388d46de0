#include "sso_fiber.h"
#include "sso_test.h"
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* AddressSanitizer must be told when the stack changes under it, or it takes the other
   stack's frames for overflows (and its fake stacks for leaks). */
#if defined(__SANITIZE_ADDRESS__)
#define SSO_FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SSO_FIBER_ASAN 1
#endif
#endif
#ifdef SSO_FIBER_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__x86_64__)
/* s_switch(&save, load): pushes the callee-saved registers and the floating-point control
   words, stores the stack pointer in *save, takes load as the stack pointer and pops what an
   earlier s_switch pushed there (or what sso_fiber_start laid out), returning into that
   stack. Why not swapcontext: it also saves and restores the signal mask, two system calls
   per switch (a round trip cost 2.6 µs on a VM, this one 30 ns), and a request switches four
   times. Elsewhere ucontext does it. */
__asm__(".text\n"
        ".p2align 4\n"
        ".type sso_fiber_switch_, @function\n"
        "sso_fiber_switch_:\n"
        "  pushq %rbp\n"
        "  pushq %rbx\n"
        "  pushq %r12\n"
        "  pushq %r13\n"
        "  pushq %r14\n"
        "  pushq %r15\n"
        "  subq $8, %rsp\n"
        "  stmxcsr (%rsp)\n"
        "  fnstcw 4(%rsp)\n"
        "  movq %rsp, (%rdi)\n"
        "  movq %rsi, %rsp\n"
        "  ldmxcsr (%rsp)\n"
        "  fldcw 4(%rsp)\n"
        "  addq $8, %rsp\n"
        "  popq %r15\n"
        "  popq %r14\n"
        "  popq %r13\n"
        "  popq %r12\n"
        "  popq %rbx\n"
        "  popq %rbp\n"
        "  ret\n"
        ".size sso_fiber_switch_, .-sso_fiber_switch_\n");
void sso_fiber_switch_(void **save, void *load);
typedef void *s_context_t;

static uint32_t s_mxcsr(void)
{
    uint32_t value = 0;
    __asm__ volatile("stmxcsr %0" : "=m"(value));
    return value;
}
#else
/* Under AddressSanitizer its swapcontext wrapper warns that it cannot follow the switch,
   which the annotations below already tell it about. */
#include <ucontext.h>
typedef ucontext_t s_context_t;
#endif

struct sso_fiber_t {
    s_context_t context;         /* the fiber's own, while it is suspended */
    s_context_t caller;          /* whoever started or resumed it */
    uint8_t *mapping;            /* guard page + stack */
    size_t mapping_size;
    uint8_t *stack;
    size_t stack_size;
    sso_fiber_fn *fn;
    void *arg;
    bool running;                /* started, not returned */
    void *asan_fake_stack;       /* the caller's, saved while the fiber runs */
    const void *caller_bottom;   /* the caller's stack, for the switch back */
    size_t caller_size;
};

static _Thread_local sso_fiber_t *s_current;

/* Saves the running context in from and continues the one in to. */
static void s_switch(s_context_t *from, s_context_t *to)
{
#if defined(__x86_64__)
    sso_fiber_switch_(from, *to);
#else
    swapcontext(from, to);
#endif
}

sso_fiber_t *sso_fiber_new(size_t stack_size)
{
    size_t page = (size_t) sysconf(_SC_PAGESIZE);
    stack_size = (stack_size + page - 1) / page * page;
    if (stack_size == 0)
        return NULL;
    sso_fiber_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->mapping_size = stack_size + page;
    void *mapping = mmap(NULL, self->mapping_size, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    /* The lowest page stays unmapped for access: an overflow faults instead of writing into
       whatever lies below. */
    if (mapping == MAP_FAILED || mprotect(mapping, page, PROT_NONE) != 0) {
        if (mapping != MAP_FAILED)
            munmap(mapping, self->mapping_size);
        free(self);
        return NULL;
    }
    self->mapping = mapping;
    self->stack = self->mapping + page;
    self->stack_size = stack_size;
    return self;
}

void sso_fiber_destroy(sso_fiber_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sso_fiber_t *self = *self_p;
    /* A suspended fiber's stack still holds live frames: leaking it is safer than freeing
       memory they point into. Callers only destroy fibers that returned. */
    if (!self->running) {
        munmap(self->mapping, self->mapping_size);
        free(self);
    }
    *self_p = NULL;
}

/* Switches from the caller's stack into self. */
static void s_enter(sso_fiber_t *self)
{
    s_current = self;
#ifdef SSO_FIBER_ASAN
    __sanitizer_start_switch_fiber(&self->asan_fake_stack, self->stack, self->stack_size);
#endif
    s_switch(&self->caller, &self->context);
#ifdef SSO_FIBER_ASAN
    __sanitizer_finish_switch_fiber(self->asan_fake_stack, NULL, NULL);
#endif
    s_current = NULL;
}

/* Switches from self back to its caller; returned: the fiber's stack is done with. */
static void s_leave(sso_fiber_t *self, bool returned)
{
#ifdef SSO_FIBER_ASAN
    void *fake_stack = NULL;
    __sanitizer_start_switch_fiber(returned ? NULL : &fake_stack, self->caller_bottom,
                                   self->caller_size);
#else
    (void) returned;
#endif
    s_switch(&self->context, &self->caller);
#ifdef SSO_FIBER_ASAN
    __sanitizer_finish_switch_fiber(fake_stack, &self->caller_bottom, &self->caller_size);
#endif
}

static void s_entry(void)
{
    sso_fiber_t *self = s_current;
#ifdef SSO_FIBER_ASAN
    __sanitizer_finish_switch_fiber(NULL, &self->caller_bottom, &self->caller_size);
#endif
    self->fn(self->arg);
    self->running = false;
    s_leave(self, true);
    /* Never resumed after returning: start makes a fresh context. */
    abort();
}

int sso_fiber_start(sso_fiber_t *self, sso_fiber_fn *fn, void *arg)
{
    if (!self || !fn || self->running || s_current)
        return -1;
#if defined(__x86_64__)
    /* What sso_fiber_switch_ pops: the control words (the caller's), six registers, then
       s_entry as the return address, placed so that s_entry starts as if called (the stack
       8 bytes off a 16-byte boundary). */
    uint64_t *sp = (uint64_t *) ((uintptr_t) (self->stack + self->stack_size) & ~(uintptr_t) 15);
    *--sp = 0;
    *--sp = (uint64_t) (uintptr_t) s_entry;
    for (int i = 0; i < 6; i++)
        *--sp = 0;
    uint16_t fpu_control = 0;
    __asm__ volatile("fnstcw %0" : "=m"(fpu_control));
    *--sp = (uint64_t) s_mxcsr() | (uint64_t) fpu_control << 32;
    self->context = sp;
#else
    if (getcontext(&self->context) != 0)
        return -1;
    self->context.uc_stack.ss_sp = self->stack;
    self->context.uc_stack.ss_size = self->stack_size;
    self->context.uc_link = NULL;
    makecontext(&self->context, s_entry, 0);
#endif
#ifdef SSO_FIBER_ASAN
    /* Frames left from the last function run on this stack are gone. */
    __asan_unpoison_memory_region(self->stack, self->stack_size);
#endif
    self->fn = fn;
    self->arg = arg;
    self->running = true;
    s_enter(self);
    return 0;
}

int sso_fiber_resume(sso_fiber_t *self)
{
    if (!self || !self->running || s_current)
        return -1;
    s_enter(self);
    return 0;
}

int sso_fiber_yield(void)
{
    sso_fiber_t *self = s_current;
    if (!self)
        return -1;
    s_leave(self, false);
    return 0;
}

sso_fiber_t *sso_fiber_current(void) { return s_current; }

bool sso_fiber_running(const sso_fiber_t *self) { return self && self->running; }

/* ---- self-test ------------------------------------------------------------------------- */

typedef struct {
    int steps;
    int seen[8];
    sso_fiber_t *self;
    bool inner_start_refused;
} s_probe_t;

static void s_probe(void *arg)
{
    s_probe_t *probe = arg;
    char local[4096]; /* frames on the fiber's own stack */
    for (size_t i = 0; i < sizeof local; i++)
        local[i] = (char) i;
    probe->self = sso_fiber_current();
    probe->inner_start_refused = sso_fiber_start(probe->self, s_probe, arg) == -1;
    for (int i = 0; i < 3; i++) {
        probe->seen[probe->steps++] = local[i + 1];
        sso_fiber_yield();
    }
}

static void s_deep(void *arg)
{
    /* Uses a good part of the stack, as a parser's recursion might. */
    volatile char big[256 * 1024];
    for (size_t i = 0; i < sizeof big; i += 512)
        big[i] = (char) i;
    *(int *) arg = big[512] + 1;
}

#if defined(__x86_64__)
static void s_set_mxcsr(uint32_t value)
{
    __asm__ volatile("ldmxcsr %0" : : "m"(value));
}

/* Sets rounding toward zero in its own context, yields, and checks it is still set. */
static void s_rounding(void *arg)
{
    bool *kept = arg;
    uint32_t mine = (s_mxcsr() & ~0x6000u) | 0x6000u;
    s_set_mxcsr(mine);
    sso_fiber_yield();
    *kept = s_mxcsr() == mine;
    s_set_mxcsr(mine & ~0x6000u);
}
#endif

void sso_fiber_test(bool verbose)
{
    (void) verbose;
    SSO_CHECK(sso_fiber_current() == NULL && sso_fiber_yield() == -1);
    sso_fiber_t *a = sso_fiber_new(SSO_FIBER_STACK_SIZE);
    sso_fiber_t *b = sso_fiber_new(64 * 1024);
    SSO_CHECK(a && b);
    if (!a || !b)
        return;
    /* Two fibers interleave, each keeps its own locals across yields. */
    s_probe_t pa = {0}, pb = {0};
    SSO_CHECK(sso_fiber_start(a, s_probe, &pa) == 0 && pa.steps == 1 && sso_fiber_running(a));
    SSO_CHECK(pa.self == a && pa.inner_start_refused && sso_fiber_current() == NULL);
    SSO_CHECK(sso_fiber_start(a, s_probe, &pa) == -1); /* still running */
    SSO_CHECK(sso_fiber_start(b, s_probe, &pb) == 0 && pb.steps == 1);
    SSO_CHECK(sso_fiber_resume(a) == 0 && pa.steps == 2 && pb.steps == 1);
    SSO_CHECK(sso_fiber_resume(b) == 0 && sso_fiber_resume(b) == 0 && pb.steps == 3);
    SSO_CHECK(sso_fiber_resume(a) == 0 && pa.steps == 3);
    SSO_CHECK(pa.seen[0] == 1 && pa.seen[1] == 2 && pa.seen[2] == 3 && pb.seen[2] == 3);
    /* The last resume runs each to its end. */
    SSO_CHECK(sso_fiber_resume(a) == 0 && !sso_fiber_running(a));
    SSO_CHECK(sso_fiber_resume(a) == -1);
    SSO_CHECK(sso_fiber_resume(b) == 0 && !sso_fiber_running(b));
    /* Reused for another function, with room for deep frames. */
    int out = 0;
    SSO_CHECK(sso_fiber_start(a, s_deep, &out) == 0 && out == 1 && !sso_fiber_running(a));
    for (int i = 0; i < 1000; i++) {
        s_probe_t p = {0};
        sso_fiber_start(b, s_probe, &p);
        while (sso_fiber_running(b))
            sso_fiber_resume(b);
        if (p.steps != 3) {
            SSO_CHECK(!"a reused fiber ran its function to the end");
            break;
        }
    }
#if defined(__x86_64__)
    /* Each side keeps its own floating-point control word across switches. */
    uint32_t ours = s_mxcsr();
    bool kept = false;
    SSO_CHECK(sso_fiber_start(a, s_rounding, &kept) == 0 && s_mxcsr() == ours);
    SSO_CHECK(sso_fiber_resume(a) == 0 && kept && !sso_fiber_running(a) && s_mxcsr() == ours);
#endif
    SSO_CHECK(sso_fiber_new(0) == NULL);
    sso_fiber_destroy(&a);
    sso_fiber_destroy(&b);
    SSO_CHECK(a == NULL && b == NULL);
}
