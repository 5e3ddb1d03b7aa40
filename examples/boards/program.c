/* program.c - the board program: the same main.main on every chip.
 *
 * It sleeps through the chip's timer (runtime.sleepTicks: compare interrupt + wfe), reads
 * time through runtime.ticks, prints through runtime.putchar, runs a goroutine that makes
 * garbage and collects it like refmw.  Its output depends on nothing the chip decides
 * (no tick counts, no heap size), so every build prints the same lines: the
 * lm3s6965evb build under qemu is the oracle (expected/board.out).
 */
#include "board.h"

#define SLEEPS 5
#define SLEEP_NS 10000000 /* 10 ms each */
#define PRODUCER_ALLOCS 600
#define KEPT 4

static uint32_t tasksFinished GO("main.tasksFinished");
static uint32_t producerChecksum GO("main.producerChecksum");

struct node {
	struct node *next; /* heap -> heap pointer: found by scanning the object */
	uint32_t value;
};

static struct node *kept GO("main.kept"); /* a global root: one node per sleep */

static void report(const char *label, uint32_t value) GO("main.report");
static void report(const char *label, uint32_t value)
{
	runtime_printstring(label);
	runtime_printstring(": ");
	runtime_printuint32(value);
	runtime_putchar('\n');
}

/* Garbage maker (go producer()): only the last KEPT nodes stay reachable. */
void producerTask(void) GO("main.producer$gowrapper");
void producerTask(void)
{
	struct node *ring[KEPT] = {0, 0, 0, 0};
	uint32_t sum = 0;

	for (uint32_t i = 0; i < PRODUCER_ALLOCS; i++) {
		struct node *n = runtime_alloc(16 + (i % 8) * 32); /* 16..240 bytes */
		n->value = i;
		ring[i % KEPT] = n;
		if (i % 16 == 15)
			task_Pause();
	}
	for (int k = 0; k < KEPT; k++)
		sum += ring[k]->value;
	producerChecksum = sum;
	tasksFinished++;
}

/* time.Sleep: ask the chip to sleep; say whether it slept long enough and a timer
 * interrupt happened meanwhile. */
static uint32_t sleepChecked(int64_t ns) GO("main.sleepChecked");
static uint32_t sleepChecked(int64_t ns)
{
	int64_t want = runtime_nanosecondsToTicks(ns);
	uint32_t irqs = runtime_timerInterrupts;
	int64_t start = runtime_ticks();

	runtime_sleepTicks(want);
	return runtime_ticks() - start >= want && runtime_timerInterrupts != irqs;
}

void main_main(void)
{
	uint32_t ok = 0, forwards = 1, keptCount = 0;
	int64_t last = runtime_ticks();

	runtime_printstring("board program\n");
	task_start((uintptr_t)&producerTask, TASK_PRODUCER);
	for (uint32_t i = 1; i <= SLEEPS; i++) {
		uint32_t good = sleepChecked(SLEEP_NS);
		int64_t now = runtime_ticks();
		struct node *n = runtime_alloc(sizeof(*n));

		forwards &= now > last;
		last = now;
		ok += good;
		runtime_printstring("sleep ");
		runtime_printuint32(i);
		runtime_printstring(good ? ": ok\n" : ": FAILED\n");
		n->value = i;
		n->next = kept;
		kept = n;
		runtime_GC();
		task_Pause();
	}
	while (tasksFinished < 1)
		task_Pause();
	for (struct node *n = kept; n; n = n->next)
		keptCount += n->value;
	runtime_GC();

	report("sleeps ok", ok);
	report("ticks went forwards", forwards);
	report("tasks finished", tasksFinished);
	report("producer checksum", producerChecksum);
	report("kept nodes sum", keptCount);
	report("allocations", runtime_allocCount);
	report("collections at least", runtime_gcCycles >= SLEEPS + 1 ? SLEEPS + 1 : 0);
	runtime_printstring(ok == SLEEPS && forwards ? "done\n" : "FAILED\n");
	if (ok != SLEEPS || !forwards)
		runtime_exit(1);
}
