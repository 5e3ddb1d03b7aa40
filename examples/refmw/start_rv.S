/* start_rv.S - entry and stack scan for the RISC-V (RV32IMAC) build.
 * qemu -bios none jumps to 0x80000000, where .text.start is placed. */
	.section .text.start,"ax",@progbits
	.global _start
	.type _start, @function
_start:
	la	sp, _stack_top
	j	Reset_Handler
	.size _start, .-_start

/* void tinygo_scanCurrentStack(void): spill callee-saved s0-s11 and ra, then scan. */
	.section .text.tinygo_scanCurrentStack,"ax",@progbits
	.global tinygo_scanCurrentStack
	.type tinygo_scanCurrentStack, @function
tinygo_scanCurrentStack:
	addi	sp, sp, -64
	sw	ra, 0(sp)
	sw	s0, 4(sp)
	sw	s1, 8(sp)
	sw	s2, 12(sp)
	sw	s3, 16(sp)
	sw	s4, 20(sp)
	sw	s5, 24(sp)
	sw	s6, 28(sp)
	sw	s7, 32(sp)
	sw	s8, 36(sp)
	sw	s9, 40(sp)
	sw	s10, 44(sp)
	sw	s11, 48(sp)
	mv	a0, sp
	call	"runtime.markStack"
	lw	ra, 0(sp)
	addi	sp, sp, 64
	ret
	.size tinygo_scanCurrentStack, .-tinygo_scanCurrentStack
