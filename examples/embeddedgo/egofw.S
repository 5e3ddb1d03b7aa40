@ The runtime's assembly part, shaped like Embedded Go's rt0_noos_thumb.s, tasker_noos_thumb.s,
@ sys_noos_thumb.s and asm_thumb.s: vector table, reset, SVC system calls through a table,
@ the PendSV context switch, morestack, and a Go function whose prologue checks the stack guard.
#ifdef GO_ROOTS  /* egofw-roots.elf: the runtime's assembly under the Go root (egofw.c) */
#line 1 "/opt/ego/go/src/runtime/asm_thumb.s"
#endif
	.syntax unified
	.thumb

	.section .vectors, "a"
	.global rt_vectors
	.type rt_vectors, %object
rt_vectors:
	.word isr_stack_top             @ 0: initial sp = top of the 2 KiB ISR stack at RAM base
	.word rt0_thumb_noos + 1        @ 1: Reset
	.word 1                         @ 2: NMI: no handler (the linker dropped unhandledException)
	.word rt_hardfault + 1          @ 3: HardFault
	.word 1, 1, 1, 0, 0, 0, 0       @ 4-10
	.word rt_svcall + 1             @ 11: SVCall
	.word 1, 0                      @ 12-13
	.word rt_pendsv + 1             @ 14: PendSV
	.word 1                         @ 15: SysTick
	.word 1, 1, 1, 1, 1, 1          @ IRQ0-5
	.word irq_exti0 + 1             @ IRQ6: EXTI0
	.rept 16
	.word 1                         @ IRQ7-22
	.endr
	.word irq_exti9_5 + 1           @ IRQ23: EXTI9_5
	.rept 4
	.word 1                         @ IRQ24-27
	.endr
	.word irq_tim2 + 1              @ IRQ28: TIM2
	.size rt_vectors, . - rt_vectors

	.text
	.global rt0_thumb_noos
	.type rt0_thumb_noos, %function
	.p2align 2
rt0_thumb_noos:                         @ runs on the ISR stack (MSP)
	ldr r0, =rt_g0
	mov r10, r0                     @ g lives in r10
	ldr r1, =ram_start
	adds r1, #464                   @ stackguard0 = stack_lo + 464 (noosStackGuard)
	str r1, [r0, #8]
	b rt0_go
	.ltorg
	.size rt0_thumb_noos, . - rt0_thumb_noos

@ runtime.rt0_go: initialises on the ISR stack (schedinit), then leaves it: sets PSP to m0.g0's
@ stack and CONTROL.SPSEL, and only then starts the main goroutine (newproc(mainPC), its
@ argument in the stack slot above the return address, r0 reused) and the scheduler (mstart).
	.global rt0_go
	.type rt0_go, %function
rt0_go:
	bl rt_schedinit
	ldr r0, =rt_g0stack_top
	msr psp, r0
	mrs r0, control
	orr r0, r0, #2                  @ use PSP as stack pointer
	msr control, r0
	isb
	sub sp, #8
	ldr r0, =rt_mainpc
	str r0, [sp, #4]
	movs r0, #0
	str r0, [sp, #0]
	bl rt_newproc
	add sp, #8
	bl rt_mstart
1:	b 1b
	.ltorg
	.size rt0_go, . - rt0_go

	.global rt_hardfault
	.type rt_hardfault, %function
rt_hardfault:
	ldr r0, =fault_msg
	bl rt_throw
	.ltorg
	.size rt_hardfault, . - rt_hardfault

@ SVCall: the system call number is the svc immediate; fast calls (<= 4) jump to their handler
@ through the syscalls table (an indirect jump). The others run as tasker_noos_thumb.s does it:
@ push g and lr, copy the arguments with a computed entry into duffcopy (duffcopy + 8 - n*2),
@ then call the handler read from the table (ldr r0, [r0, r1, lsl #2]; blx r0): a 24 B frame.
	.global rt_svcall
	.type rt_svcall, %function
	.p2align 2
rt_svcall:
	tst lr, #4
	ite eq
	mrseq r12, msp
	mrsne r12, psp
	ldr r1, [r12, #24]              @ stacked pc
	ldrb r1, [r1, #-2]              @ svc immediate
	cmp r1, #4
	bhi 1f
	ldr r2, =rt_syscalls
	ldr pc, [r2, r1, lsl #2]
1:	push {r10, lr}
	sub sp, #16                     @ the arguments' copy
	ldr r0, =rt_duffcopy + 8
	sub r0, r0, r5, lsl #1
	mov r5, lr
	blx r0
	ldr r0, =rt_syscalls
	ldr.w r0, [r0, r1, lsl #2]
	blx r0
	add sp, #16
	pop {r10, pc}
	.ltorg
	.size rt_svcall, . - rt_svcall

@ PendSV: the tasker's context switch. The hardware pushed r0-r3, r12, lr, pc, xpsr (32 B) on
@ the thread's PSP; this saves r4-r11 and EXC_RETURN there (36 B) and loads the next thread's.
	.global rt_pendsv
	.type rt_pendsv, %function
	.p2align 2
rt_pendsv:
	mrs r0, psp
	stmdb r0!, {r4-r11, lr}
	ldr r1, =rt_curthread
	ldr r2, [r1]
	str r0, [r2]
	ldr r2, [r2, #4]                @ next thread
	str r2, [r1]
	ldr r0, [r2]
	ldmia r0!, {r4-r11, lr}
	msr psp, r0
	bx lr
	.ltorg
	.size rt_pendsv, . - rt_pendsv

@ System call stubs (sys_noos_thumb.s): fast nanotime is SVC 0, futexsleep SVC 9, newosproc SVC 7.
	.global rt_nanotime
	.type rt_nanotime, %function
rt_nanotime:
	svc #0
	bx lr
	.size rt_nanotime, . - rt_nanotime

	.global rt_futexsleep
	.type rt_futexsleep, %function
rt_futexsleep:
	svc #9
	bx lr
	.size rt_futexsleep, . - rt_futexsleep

	.global rt_futexwakeup
	.type rt_futexwakeup, %function
rt_futexwakeup:
	svc #10
	bx lr
	.size rt_futexwakeup, . - rt_futexwakeup

	.global rt_newproc
	.type rt_newproc, %function
rt_newproc:
	cbnz r0, 1f
	ldr r0, [sp, #4]                @ rt0_go's call (ABI0): the funcval in the argument slot
1:
	push {r4, lr}
	mov r4, r0
	movs r0, #64
	movs r1, #0
	movs r2, #1
	bl rt_mallocgc                  @ the new g and its first stack come from the heap
	str r4, [r0]
	svc #7
	pop {r4, pc}
	.size rt_newproc, . - rt_newproc

@ irqctl(irq, ctl, ctxid int): SVC 1, a fast system call; Go's ABI0 passes the arguments on the
@ stack at 4(sp), 8(sp), 12(sp) (0(sp) is the callee's saved lr slot).
	.global rt_irqctl
	.type rt_irqctl, %function
rt_irqctl:
	svc #1
	bx lr
	.size rt_irqctl, . - rt_irqctl

@ main.enableIRQs, as Go compiles irq.EXTI0.Enable(rtos.IntPrioLow, 0) and its like:
@ rtos levels are 255 - the NVIC byte (irq_noos_thumb.go): Low 95 -> 0xA0, Mid 159 -> 0x60,
@ High 223 -> 0x20.
	.global main_enable_irqs
	.type main_enable_irqs, %function
main_enable_irqs:
	str lr, [sp, #-16]!             @ Go's prologue: lr at 0(sp), 12 B of outgoing arguments
	movs r0, #6                     @ EXTI0
	str r0, [sp, #4]
	movs r0, #95                    @ rtos.IntPrioLow
	str r0, [sp, #8]
	movs r0, #0
	str r0, [sp, #12]
	bl rt_irqctl
	movs r0, #28                    @ TIM2
	str r0, [sp, #4]
	movs r0, #159                   @ rtos.IntPrioMid
	str r0, [sp, #8]
	bl rt_irqctl
	movs r0, #23                    @ EXTI9_5
	str r0, [sp, #4]
	movs r0, #223                   @ rtos.IntPrioHigh
	str r0, [sp, #8]
	bl rt_irqctl
	ldr pc, [sp], #16
	.size main_enable_irqs, . - main_enable_irqs

@ sysirqctl: the system call's handler stores 255 - ctl in NVIC.IPR[irq] (a computed address)
@ and enables the IRQ; the arguments are the caller's stacked ones (here: r0 = irq, r1 = ctl).
	.type sys_irqctl, %function
sys_irqctl:
	ldr r2, =0xE000E400
	rsb r1, r1, #255
	strb r1, [r2, r0]
	bx lr
	.ltorg
	.size sys_irqctl, . - sys_irqctl

@ runtime.duffcopy: word copies from r1 to r2, entered at a computed offset for n words.
	.global rt_duffcopy
	.type rt_duffcopy, %function
rt_duffcopy:
	.rept 4
	ldr r3, [r1], #4
	str r3, [r2], #4
	.endr
	bx lr
	.size rt_duffcopy, . - rt_duffcopy

	.type sys_nanotime, %function
sys_nanotime:
	ldr r0, =0xE000E018             @ SysTick current value
	ldr r0, [r0]
	movs r1, #0
	bx lr
	.ltorg
	.size sys_nanotime, . - sys_nanotime

	.type sys_futexsleep, %function
sys_futexsleep:
	ldr r0, =0xE000ED04
	mov r1, #0x10000000
	str r1, [r0]                    @ pend PendSV: switch to another thread
	bx lr
	.ltorg
	.size sys_futexsleep, . - sys_futexsleep

@ morestack_noctxt -> morestack: switch to g0's stack and call newstack, which copies the
@ goroutine's stack to a larger one. A growth point: it runs on another stack.
	.global rt_morestack_noctxt
	.type rt_morestack_noctxt, %function
rt_morestack_noctxt:
	movs r7, #0
	b rt_morestack
	.size rt_morestack_noctxt, . - rt_morestack_noctxt

	.global rt_morestack
	.type rt_morestack, %function
rt_morestack:
	ldr r0, =rt_g0
	ldr r0, [r0, #4]                @ g0's stack
	mov sp, r0
	bl rt_newstack
	bx lr
	.ltorg
	.size rt_morestack, . - rt_morestack

@ main.work: a Go function's prologue: if sp <= g.stackguard0, call morestack_noctxt and retry.
@ As Go lays it out, the bounds check's panicIndex call (which never returns) sits right before
@ the morestack tail, so its pushed depth falls through into the tail's `b main_work`.
	.global main_work
	.type main_work, %function
main_work:
	ldr r1, [r10, #8]
	cmp sp, r1
	bls 2f
	push {lr}
	sub sp, #20                     @ 24 B frame
	cmp r0, #8                      @ index check: work[r0] of an 8-entry table
	bhs 3f
	movs r0, #3
	bl main_depth
	add sp, #20
	pop {pc}
3:	bl rt_panicindex
	nop
2:	mov r3, lr
	bl rt_morestack_noctxt
	b main_work
	.size main_work, . - main_work

@ main.lineOf(n) returns lines[n]: an 8 B frame, a bounds check (panicIndex) and the morestack
@ tail, as Go compiles a small function a handler calls.
	.global main_lineof
	.type main_lineof, %function
main_lineof:
	ldr r1, [r10, #8]
	cmp sp, r1
	bls 2f
	str lr, [sp, #-8]!
	cmp r0, #8
	bhs 3f
	movw r1, #:lower16:main_lines
	movt r1, #:upper16:main_lines
	ldr r0, [r1, r0, lsl #2]
	ldr pc, [sp], #8
3:	bl rt_panicindex
	nop
2:	mov r3, lr
	bl rt_morestack_noctxt
	b main_lineof
	.size main_lineof, . - main_lineof

@ main.table: Go's prologue for a frame too large for one immediate store (380 B):
@ subw r7, sp, #380; str lr, [r7]; mov sp, r7 ... ldr lr, [sp]; add sp, #380; bx lr.
	.global main_table
	.type main_table, %function
main_table:
	ldr r1, [r10, #8]
	subw r2, sp, #252               @ sp - (frame - guard) against stackguard0
	cmp r2, r1
	bls 2f
	subw r7, sp, #380
	str lr, [r7]
	mov sp, r7
	movs r0, #0
	str r0, [sp, #376]
	bl rt_newobject                 @ one allocation, in no loop (the tail's `b main_table` is none)
	ldr lr, [sp]
	add sp, #380
	bx lr
2:	mov r3, lr
	bl rt_morestack_noctxt
	b main_table
	.size main_table, . - main_table

	.section .rodata
	.p2align 2
	.global rt_mainpc
	.type rt_mainpc, %object
rt_mainpc:
	.word rt_main + 1               @ runtime.mainPC: the funcval of runtime.main
	.size rt_mainpc, . - rt_mainpc
	.global rt_syscalls
	.type rt_syscalls, %object
rt_syscalls:
	.word sys_nanotime + 1, sys_irqctl + 1, sys_nanotime + 1, sys_nanotime + 1, sys_nanotime + 1
	.word sys_futexsleep + 1, sys_futexsleep + 1, sys_futexsleep + 1, sys_futexsleep + 1, sys_futexsleep + 1
	.size rt_syscalls, . - rt_syscalls
fault_msg:
	.asciz "fault"

@ go:buildinfo as Go's linker writes it (debug/buildinfo): magic, pointer size, flags (2: strings
@ inline), then the version and the module info (16 sentinel bytes each side), each prefixed by
@ its length as a varint. Its -tags picks the runtime's target constants (const_noos_stm32h7.go):
@ not the F4 the memory map copies, on purpose, so that the tag and not the default decides.
	.p2align 4
	.global rt_buildinfo
	.type rt_buildinfo, %object
rt_buildinfo:
	.ascii "\377 Go buildinf:"
	.byte 4, 2
	.space 16
	.byte 2f - 1f
1:	.ascii "go1.22-embedded"
2:	.byte 4f - 3f
3:	.ascii "0w\257\014\222t\010\002A\341\301\007\346\326\030\346"
	.ascii "build\t-tags=stm32h7x3\nbuild\tGOARM=7,softfloat\n"
	.ascii "\3312\0031\206\030 r\000\202B\020A\026\330\362"
4:	.size rt_buildinfo, . - rt_buildinfo

main_lines:
	.word 10, 11, 12, 13, 14, 15, 16, 17

	.bss
	.p2align 3
	.global rt_g0, rt_curthread
rt_g0:	.space 16
	.p2align 3
rt_g0stack: .space 512                  @ m0.g0's stack (malg in rt0_go)
rt_g0stack_top:
rt_curthread: .space 4
