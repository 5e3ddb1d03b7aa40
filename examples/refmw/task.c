/* task.c - goroutine-like tasks and a cooperative scheduler (Cortex-M only).
 *
 * Experiment "tasks" (goroutine stacks and the context-switch push):
 *  - internal/task.start allocates each task's stack with runtime.alloc, as TinyGo does,
 *    writes the canary 0xb83bf575 (low 32 bits of 0x670c1333b83bf575) at its lowest word
 *    and builds the 36-byte frame that tinygo_swapTask pops (r4-r11, lr).
 *  - Tasks run in Thread mode on PSP; the scheduler and every interrupt handler run on
 *    MSP (.stack at the bottom of RAM).  Switching is cooperative: a task gives up the
 *    CPU only in internal/task.Pause, which also checks the canary (TinyGo's only check).
 *  - internal/task.stackSizes (section .tinygo_stacksizes) holds one 32-bit stack size
 *    per task entry; internal/task.start reads the size it allocates from there.
 * The entry is passed to internal/task.start as a constant function address and kept in
 * r4 of the initial frame; tinygo_startTask calls it (the only indirect call: blx r4).
 */
#include "rt.h"

#define STACK_CANARY 0xb83bf575u
#define MAX_TASKS 4

#ifndef STACK_RECURSE
#define STACK_RECURSE 1024 /* the small-stack variant builds with -DSTACK_RECURSE=512 */
#endif

__attribute__((section(".tinygo_stacksizes"), used))
const uint32_t task_stackSizes[TASK_COUNT] GO("internal/task.stackSizes") = {
	[TASK_MAIN] = 2048,	    /* runtime.run$1 */
	[TASK_PRODUCER] = 1024,	    /* main.producer$gowrapper */
	[TASK_RECURSE] = STACK_RECURSE, /* main.recurse$gowrapper */
	[TASK_FPU] = 1024,	    /* main.fpu$gowrapper (Cortex-M4F build only) */
};

enum { TASK_EMPTY = 0, TASK_RUNNABLE = 1, TASK_DONE = 2 };

struct task {
	uint32_t sp;	  /* saved PSP while paused (points at the 36-byte swap frame) */
	uint32_t *stack;  /* heap object: canary at stack[0] */
	uint32_t size;	  /* bytes */
	uint32_t state;
};

/* A global, so the collector's conservative scan of the globals keeps the stacks alive. */
struct task task_tasks[MAX_TASKS] GO("internal/task.tasks");
static int currentTask = -1;
static uint32_t schedulerSp; /* saved MSP of the scheduler while a task runs */

uint32_t task_stackSize(uint32_t index)
{
	/* volatile: really load the size from .tinygo_stacksizes in flash */
	return ((const volatile uint32_t *)task_stackSizes)[index];
}

void task_start(uintptr_t entry, uint32_t index)
{
	uint32_t size = task_stackSize(index);
	uint32_t *stack = runtime_alloc(size); /* goroutine stacks are heap allocations */
	uint32_t *frame = stack + size / 4 - 9; /* sp stays 8-byte aligned after the pop */
	int i;

	stack[0] = STACK_CANARY;
	frame[0] = (uint32_t)entry;		      /* r4: the entry, called by tinygo_startTask */
	frame[8] = (uint32_t)(uintptr_t)&tinygo_startTask; /* lr */
	for (i = 0; i < MAX_TASKS && task_tasks[i].state == TASK_RUNNABLE; i++)
		;
	if (i == MAX_TASKS)
		runtime_panic("too many tasks");
	task_tasks[i].sp = (uint32_t)(uintptr_t)frame;
	task_tasks[i].stack = stack;
	task_tasks[i].size = size;
	task_tasks[i].state = TASK_RUNNABLE;
}

/* Give the CPU back to the scheduler (TinyGo: internal/task.Pause). */
void task_Pause(void)
{
	struct task *t = &task_tasks[currentTask];

	if (MMIO32(0xE000ED04) & 0x1FFu) /* SCB.ICSR VECTACTIVE */
		runtime_panic("blocked inside interrupt");
	if (t->stack[0] != STACK_CANARY)
		runtime_panic("goroutine stack overflow");
	tinygo_swapTask(schedulerSp, &t->sp);
}

void task_exit(void)
{
	task_tasks[currentTask].state = TASK_DONE;
	task_Pause();
	for (;;)
		;
}

uintptr_t task_currentStackTop(void)
{
	struct task *t = &task_tasks[currentTask];
	return (uintptr_t)t->stack + t->size;
}

/* Round-robin over runnable tasks until none is left (runs on MSP). */
void runtime_scheduler(void)
{
	int ran;

	do {
		ran = 0;
		for (int i = 0; i < MAX_TASKS; i++) {
			if (task_tasks[i].state != TASK_RUNNABLE)
				continue;
			currentTask = i;
			tinygo_swapTask(task_tasks[i].sp, &schedulerSp);
			currentTask = -1;
			if (task_tasks[i].state == TASK_DONE) {
				task_tasks[i].state = TASK_EMPTY;
				task_tasks[i].stack = 0; /* the stack becomes garbage */
			}
			ran = 1;
		}
	} while (ran);
}
