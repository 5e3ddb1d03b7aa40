/* rt.h - shared declarations of the gomcu reference firmware (refmw).
 *
 * The firmware is written in C but shaped like TinyGo's Go runtime on an MCU, so that
 * gomcu's analyses can be checked against a program whose truths we know.  Functions
 * carry TinyGo's symbol names through asm labels: GO("runtime.alloc") makes the ELF
 * symbol literally `runtime.alloc`.  The label is quoted because GNU as rejects '/' in a
 * bare symbol name (internal/task.Pause); DWARF's DW_AT_linkage_name keeps the quotes.
 */
#ifndef REFMW_RT_H
#define REFMW_RT_H

#include <stddef.h>
#include <stdint.h>

#define GO(name) __asm__("\"" name "\"")
#define NOINLINE __attribute__((noinline, noclone))
#define NORETURN __attribute__((noreturn))

#define MMIO32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* Goroutine-entry indices: one 32-bit stack size each in internal/task.stackSizes. */
enum { TASK_MAIN = 0, TASK_PRODUCER = 1, TASK_RECURSE = 2, TASK_FPU = 3, TASK_COUNT = 4 };

/* Linker-script symbols (TinyGo names). */
extern uint8_t _stack_top[], _stack_size[];
extern uint8_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[];
extern uint8_t _globals_start[], _globals_end[], _heap_start[], _heap_end[];

/* runtime.c */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void runtime_putchar(char c) GO("runtime.putchar");
void runtime_printstring(const char *s) GO("runtime.printstring");
void runtime_printuint32(uint32_t v) GO("runtime.printuint32");
void runtime_exit(int code) GO("runtime.exit") NORETURN;
void runtime_panic(const char *msg) GO("runtime._panic") NORETURN;
void runtime_initHeap(void) GO("runtime.initHeap");
void *runtime_alloc(size_t size) GO("runtime.alloc");
void runtime_GC(void) GO("runtime.GC");
void runtime_markStack(uintptr_t sp) GO("runtime.markStack");
uint32_t runtime_liveBlocks(void) GO("runtime.liveBlocks");
void runtime_run1(void) GO("runtime.run$1");
void Reset_Handler(void) NORETURN;

extern uint32_t runtime_allocCount GO("runtime.allocCount");
extern uint32_t runtime_gcCycles GO("runtime.gcCycles");
extern uint32_t runtime_gcFreedBlocks GO("runtime.gcFreedBlocks");

/* assembly (swap_arm.S / start_rv.S) */
void tinygo_scanCurrentStack(void);

/* task.c (Cortex-M only: RISC-V build runs everything on the system stack) */
#ifdef __arm__
void task_start(uintptr_t entry, uint32_t index) GO("internal/task.start");
void task_Pause(void) GO("internal/task.Pause");
void task_exit(void) GO("internal/task.exit") NORETURN;
void runtime_scheduler(void) GO("runtime.scheduler");
uintptr_t task_currentStackTop(void) GO("internal/task.currentStackTop");
uint32_t task_stackSize(uint32_t index) GO("internal/task.stackSize");
void tinygo_swapTask(uint32_t newStack, uint32_t *oldStack);
void tinygo_startTask(void);
#endif

/* main.c */
void main_main(void) GO("main.main");

#endif
