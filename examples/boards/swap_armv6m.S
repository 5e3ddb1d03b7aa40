/* swap_armv6m.S - refmw's swap_arm.S for ARMv6-M (Cortex-M0+: RP2040, SAMD21), which
 * cannot push r8-r11 or use Thumb-2.  The frame is the same 36 bytes in the same order
 * (r4-r11 from the lowest address, then lr) so refmw's task.c builds it unchanged.
 */
	.syntax unified
	.thumb
	.text

/* void tinygo_swapTask(uint32_t newStack, uint32_t *oldStack) */
	.section .text.tinygo_swapTask,"ax",%progbits
	.global tinygo_swapTask
	.type tinygo_swapTask, %function
	.thumb_func
tinygo_swapTask:
	sub	sp, #36
	str	r4, [sp, #0]
	str	r5, [sp, #4]
	str	r6, [sp, #8]
	str	r7, [sp, #12]
	mov	r4, r8
	str	r4, [sp, #16]
	mov	r4, r9
	str	r4, [sp, #20]
	mov	r4, r10
	str	r4, [sp, #24]
	mov	r4, r11
	str	r4, [sp, #28]
	mov	r4, lr
	str	r4, [sp, #32]
	mov	r2, sp
	str	r2, [r1]
	mrs	r2, CONTROL
	movs	r3, #2
	eors	r2, r3			/* SPSEL: MSP <-> PSP */
	msr	CONTROL, r2
	isb
	mov	sp, r0
	ldr	r4, [sp, #16]
	mov	r8, r4
	ldr	r4, [sp, #20]
	mov	r9, r4
	ldr	r4, [sp, #24]
	mov	r10, r4
	ldr	r4, [sp, #28]
	mov	r11, r4
	ldr	r4, [sp, #32]
	mov	lr, r4
	ldr	r4, [sp, #0]
	ldr	r5, [sp, #4]
	ldr	r6, [sp, #8]
	ldr	r7, [sp, #12]
	add	sp, #36
	bx	lr
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

/* void tinygo_scanCurrentStack(void): 40 bytes pushed, as on ARMv7-M. */
	.section .text.tinygo_scanCurrentStack,"ax",%progbits
	.global tinygo_scanCurrentStack
	.type tinygo_scanCurrentStack, %function
	.thumb_func
tinygo_scanCurrentStack:
	push	{r3-r7, lr}		/* r3 only keeps sp 8-byte aligned */
	mov	r4, r8
	mov	r5, r9
	mov	r6, r10
	mov	r7, r11
	push	{r4-r7}
	mov	r0, sp
	bl	"runtime.markStack"
	add	sp, #16
	pop	{r3-r7, pc}
	.size tinygo_scanCurrentStack, .-tinygo_scanCurrentStack
