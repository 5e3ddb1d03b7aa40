/* swap_arm.S - context switch and stack scan for the Cortex-M builds.
 * Experiment "tasks": tinygo_swapTask pushes r4-r11 and lr, 36 bytes, on the stack it
 * leaves (a goroutine's PSP stack or the scheduler's MSP stack).
 */
	.syntax unified
	.thumb
	.text

/* void tinygo_swapTask(uint32_t newStack, uint32_t *oldStack)
 * Switches between the scheduler (MSP) and a task (PSP): saves the current sp in
 * *oldStack, flips CONTROL.SPSEL, loads newStack into the now-active sp and pops. */
	.section .text.tinygo_swapTask,"ax",%progbits
	.global tinygo_swapTask
	.type tinygo_swapTask, %function
	.thumb_func
tinygo_swapTask:
	push	{r4-r11, lr}		/* 36 bytes */
	mov	r2, sp
	str	r2, [r1]
	mrs	r2, CONTROL
	eor	r2, r2, #2		/* SPSEL: MSP <-> PSP */
	msr	CONTROL, r2
	isb
	mov	sp, r0
	pop	{r4-r11, pc}
	.size tinygo_swapTask, .-tinygo_swapTask

/* First return of a new task lands here with the entry in r4. */
	.section .text.tinygo_startTask,"ax",%progbits
	.global tinygo_startTask
	.type tinygo_startTask, %function
	.thumb_func
tinygo_startTask:
	blx	r4
	bl	"internal/task.exit"
	.size tinygo_startTask, .-tinygo_startTask

/* void tinygo_scanCurrentStack(void): spill callee-saved registers so the collector
 * sees pointers held only in registers, then scan from sp to the top of this stack. */
	.section .text.tinygo_scanCurrentStack,"ax",%progbits
	.global tinygo_scanCurrentStack
	.type tinygo_scanCurrentStack, %function
	.thumb_func
tinygo_scanCurrentStack:
	push	{r3-r11, lr}		/* r3 only keeps sp 8-byte aligned */
	mov	r0, sp
	bl	"runtime.markStack"
	pop	{r3-r11, pc}
	.size tinygo_scanCurrentStack, .-tinygo_scanCurrentStack
