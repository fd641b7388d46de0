/* sso_fiber: cooperative fibers so one service instance can work on several bus
   requests at once. A fiber runs until it yields (in sso_client_call, waiting for another
   service's answer) or returns; nothing preempts it, so code between two bus calls runs as a
   whole. What a handler may not do is keep a pointer into state another request can change
   across a bus call: it takes a copy or a reference instead.
   Stacks are mapped with a guard page below them; fibers are reused from request to request.
   Switches are a few lines of assembly on x86-64 (no system call) and ucontext elsewhere. */
#ifndef SSO_FIBER_H
#define SSO_FIBER_H
#include <stdbool.h>
#include <stddef.h>

#define SSO_FIBER_STACK_SIZE (1024 * 1024)

typedef struct sso_fiber_t sso_fiber_t;
typedef void(sso_fiber_fn)(void *arg);

/* A fiber with a stack of stack_size bytes (rounded up to pages), or NULL. */
sso_fiber_t *sso_fiber_new(size_t stack_size);
/* Destroys a fiber that is not running (never started, or returned). */
void sso_fiber_destroy(sso_fiber_t **self_p);

/* Runs fn(arg) on the fiber until it yields or returns. -1 when the fiber is still running an
   earlier function or is called from inside a fiber (fibers do not nest). */
int sso_fiber_start(sso_fiber_t *self, sso_fiber_fn *fn, void *arg);
/* Continues a fiber that yielded, until it yields again or returns. -1 when it is not
   suspended or when called from inside a fiber. */
int sso_fiber_resume(sso_fiber_t *self);
/* From inside a fiber: back to whoever started or resumed it. Outside a fiber: -1. */
int sso_fiber_yield(void);

/* The fiber running now, or NULL on the thread's own stack. */
sso_fiber_t *sso_fiber_current(void);
/* Started and not yet returned. */
bool sso_fiber_running(const sso_fiber_t *self);

void sso_fiber_test(bool verbose);
#endif
