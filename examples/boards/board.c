/* board.c - the chip-layer functions that are the same on every chip but for the tick rate
 * (TICK_HZ, set per board by the Makefile). */
#include "board.h"

/* TinyGo's runtime.nanosecondsToTicks: 32.768 kHz chips use its exact ns * 64 / 1953125. */
int64_t runtime_nanosecondsToTicks(int64_t ns)
{
#if TICK_HZ == 32768
	return ns * 64 / 1953125;
#else
	return ns / (1000000000 / TICK_HZ);
#endif
}

/* TinyGo's runtime.waitForEvents: sleep until an interrupt or event. */
void runtime_waitForEvents(void)
{
	__asm__ volatile("wfe" ::: "memory");
}
