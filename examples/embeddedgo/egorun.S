@ The assembly part of egorun: vector table, reset (rt0), the SVC and PendSV handlers of the
@ tasker, the system call stubs, and the collector's stop-the-world phases, written here so
@ that their instruction counts can be read off this file (examples/README.md adds them up).
	.syntax unified
	.thumb

	.section .vectors, "a"
	.global rt_vectors
	.type rt_vectors, %object
rt_vectors:
	.word isr_stack_top             @ 0: initial sp = top of the 2 KiB ISR stack at RAM base
	.word rt0_thumb_noos + 1        @ 1: Reset
	.word rt_fault + 1              @ 2: NMI
	.word rt_fault + 1              @ 3: HardFault
	.word rt_fault + 1              @ 4: MemManage (a nil dereference comes here)
	.word rt_fault + 1              @ 5: BusFault
	.word rt_fault + 1              @ 6: UsageFault
	.word 0, 0, 0, 0                @ 7-10
	.word rt_svcall + 1             @ 11: SVCall
	.word 1, 0                      @ 12-13
	.word rt_pendsv + 1             @ 14: PendSV
	.word 1                         @ 15: SysTick
	.word 1, 1, 1, 1, 1, 1          @ IRQ0-5
	.word irq6_handler + 1          @ IRQ6
	.size rt_vectors, . - rt_vectors

	.text
@ Reset: runs privileged on the ISR stack (MSP); copies .data, clears .bss, sets the tasker up,
@ then leaves for thread mode on PSP (thread 0's stack) and drops privilege, as rt0_go does.
	.global rt0_thumb_noos
	.type rt0_thumb_noos, %function
	.p2align 2
rt0_thumb_noos:
	ldr r0, =data_start
	ldr r1, =data_load
	ldr r2, =data_end
1:	cmp r0, r2
	bhs 2f
	ldr r3, [r1], #4
	str r3, [r0], #4
	b 1b
2:	ldr r0, =bss_start
	ldr r2, =bss_end
	movs r3, #0
3:	cmp r0, r2
	bhs 4f
	str r3, [r0], #4
	b 3b
4:	bl rt_taskerinit
	ldr r0, =thread0_stack_top
	msr psp, r0
	dsb
	mrs r0, control
	orr r0, r0, #2                  @ use PSP as stack pointer
	msr control, r0
	isb
	orr r0, r0, #1                  @ go to unprivileged mode
	msr control, r0
	isb
	bl main_main
	bl rt_goexit
	.ltorg
	.size rt0_thumb_noos, . - rt0_thumb_noos

	.global rt_fault
	.type rt_fault, %function
rt_fault:                               @ faultHandler: stop where a debugger would look
	bkpt #0
	b rt_fault
	.size rt_fault, . - rt_fault

	.global rt_goexit
	.type rt_goexit, %function
rt_goexit:
	bkpt #2
	b rt_goexit
	.size rt_goexit, . - rt_goexit

@ SVCall: the service routine reads the svc immediate from the stacked pc.
	.global rt_svcall
	.type rt_svcall, %function
	.p2align 2
rt_svcall:
	tst lr, #4
	ite eq
	mrseq r0, msp
	mrsne r0, psp
	push {r4, lr}
	bl rt_syscall
	pop {r4, pc}
	.size rt_svcall, . - rt_svcall

@ PendSV: the tasker's context switch. The hardware pushed r0-r3, r12, lr, pc, xPSR (32 B) on
@ the thread's PSP; this saves r4-r11 there and loads the next thread's. While the world is
@ stopped (runtime.sched.stopped), or with one thread, no thread switch happens.
	.global rt_pendsv
	.type rt_pendsv, %function
	.p2align 2
rt_pendsv:
	ldr r1, =rt_stopped
	ldr r1, [r1]
	cbnz r1, 1f
	ldr r1, =rt_curthread
	ldr r2, [r1]
	ldr r3, [r2, #4]                @ next thread
	cbz r3, 1f                      @ only one thread yet: no switch
	mrs r0, psp
	stmdb r0!, {r4-r11}
	str r0, [r2]                    @ current thread's sp
	str r3, [r1]
	ldr r0, [r3]
	ldmia r0!, {r4-r11}
	msr psp, r0
1:	bx lr                           @ EXC_RETURN 0xFFFFFFFD: thread mode, PSP
	.ltorg
	.size rt_pendsv, . - rt_pendsv

@ System call stubs (sys_noos_thumb.s): arguments in r0-r2, result in r0.
	.global rt_write, rt_osyield, rt_newosproc, rt_exit
	.type rt_write, %function
rt_write:
	svc #1
	bx lr
	.size rt_write, . - rt_write
	.type rt_osyield, %function
rt_osyield:
	svc #2
	bx lr
	.size rt_osyield, . - rt_osyield
	.type rt_newosproc, %function
rt_newosproc:
	svc #3
	bx lr
	.size rt_newosproc, . - rt_newosproc
	.type rt_exit, %function
rt_exit:
	svc #4
	b rt_exit
	.size rt_exit, . - rt_exit

@ The allocator, with Go's ABI0: arguments and results on the stack. At a function's entry [sp]
@ is the slot its prologue saves LR in and the arguments follow: mallocgc(size, typ, needzero)
@ has size at [sp+4], typ at [sp+8], needzero at [sp+12] and returns its result at [sp+16];
@ newobject(typ) has typ at [sp+4] and its result at [sp+8]. mallocgc starts with Go's stack
@ check: sp at or below g.stackguard0 calls morestack (r3 = the return address) and, once
@ morestack has served it, enters mallocgc again from the top. newobject, as a NOSPLIT function,
@ has no check.
	.global rt_newobject
	.type rt_newobject, %function
rt_newobject:
	str lr, [sp, #-20]!
	ldr r0, [sp, #24]               @ typ
	ldr r1, [r0]                    @ typ.size
	str r1, [sp, #4]                @ mallocgc's size
	str r0, [sp, #8]                @ typ
	movs r0, #1
	strb r0, [sp, #12]              @ needzero
	bl rt_mallocgc
	ldr r0, [sp, #16]               @ mallocgc's result
	str r0, [sp, #28]               @ newobject's result
	ldr pc, [sp], #20
	.size rt_newobject, . - rt_newobject

	.global rt_mallocgc
	.type rt_mallocgc, %function
	.p2align 2
rt_mallocgc:
	ldr r1, =rt_stackguard0
	ldr r1, [r1]
	cmp sp, r1
	bls 1f
	str lr, [sp, #-8]!
	ldr r0, [sp, #12]               @ size
	ldrb r1, [sp, #20]              @ needzero
	bl rt_nextFree
	str r0, [sp, #24]               @ result
	ldr pc, [sp], #8
1:	mov r3, lr
	bl rt_morestack_noctxt
	b rt_mallocgc
	.ltorg
	.size rt_mallocgc, . - rt_mallocgc

@ morestack_noctxt branches to morestack (no closure context). morestack is called from a
@ prologue with lr = that prologue's `b <entry>` and r3 = the function's return address; the
@ real one grows the stack or reschedules, then resumes at the `b` with lr = r3. This one serves
@ the preemption request (clears the guard, counts it) and resumes at once, on the same stack.
	.global rt_morestack_noctxt
	.type rt_morestack_noctxt, %function
rt_morestack_noctxt:
	movs r2, #0
	b rt_morestack
	.size rt_morestack_noctxt, . - rt_morestack_noctxt

	.global rt_morestack
	.type rt_morestack, %function
	.p2align 2
rt_morestack:
	ldr r0, =rt_stackguard0
	movs r1, #0
	str r1, [r0]
	ldr r0, =rt_preempts
	ldr r1, [r0]
	adds r1, #1
	str r1, [r0]
	mov r12, lr
	mov lr, r3
	bx r12
	.ltorg
	.size rt_morestack, . - rt_morestack

@ The collector. A cycle has two stop-the-world pauses, each from the entry of
@ stopTheWorldWithSema to the return of startTheWorldWithSema:
@   sweep termination (in gcStart):  4 + 1 + 2*50 + 1 + 4                = 110 instructions
@   mark termination (gcMarkDone):   4 + 1 + 1 + 1 + 2*200 + 1 + 4       = 412 instructions
@ Between them the world runs: gcBgMarkWorker marks concurrently.
	.global rt_gcStart
	.type rt_gcStart, %function
rt_gcStart:
	push {r4, lr}
	bl rt_stopTheWorldWithSema      @ sweep termination: the world stops
	movs r0, #50
1:	subs r0, #1
	bne 1b
	bl rt_startTheWorldWithSema     @ the world runs again
	bl rt_gcBgMarkWorker
	bl rt_gcMarkDone
	ldr r0, =rt_gccycles
	ldr r1, [r0]
	adds r1, #1
	str r1, [r0]
	pop {r4, pc}
	.ltorg
	.size rt_gcStart, . - rt_gcStart

	.global rt_gcMarkDone
	.type rt_gcMarkDone, %function
rt_gcMarkDone:
	push {r4, lr}
	bl rt_stopTheWorldWithSema      @ mark termination: the world stops
	bl rt_gcMarkTermination
	pop {r4, pc}
	.size rt_gcMarkDone, . - rt_gcMarkDone

	.global rt_gcMarkTermination
	.type rt_gcMarkTermination, %function
rt_gcMarkTermination:
	push {r4, lr}
	movs r0, #200
1:	subs r0, #1
	bne 1b
	bl rt_startTheWorldWithSema
	pop {r4, pc}
	.size rt_gcMarkTermination, . - rt_gcMarkTermination

	.global rt_stopTheWorldWithSema
	.type rt_stopTheWorldWithSema, %function
rt_stopTheWorldWithSema:
	ldr r0, =rt_stopped
	movs r1, #1
	str r1, [r0]
	bx lr
	.ltorg
	.size rt_stopTheWorldWithSema, . - rt_stopTheWorldWithSema

	.global rt_startTheWorldWithSema
	.type rt_startTheWorldWithSema, %function
rt_startTheWorldWithSema:
	ldr r0, =rt_stopped
	movs r1, #0
	str r1, [r0]
	bx lr
	.ltorg
	.size rt_startTheWorldWithSema, . - rt_startTheWorldWithSema

	.bss
	.p2align 3
	.global rt_stopped
rt_stopped: .space 4
	.p2align 3
thread0_stack: .space 1024
thread0_stack_top:
