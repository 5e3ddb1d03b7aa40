/* boot2_rp2040.S - a minimal RP2040 second stage (.boot2, the first 256 bytes of flash).
 * The boot ROM copies these 256 bytes to SRAM and runs them if the CRC32 in the last word
 * matches (RP2040 Datasheet 2.8.1.3, "Boot sequence": polynomial 0x04C11DB7, initial
 * 0xFFFFFFFF, no reflection, no final xor, over the first 252 bytes).  A real boot2
 * (boot2_w25q080) programs the flash chip and puts the XIP SSI in quad mode; this one only
 * enables the SSI in standard SPI read mode, waits until it is idle like the real one
 * (SSI SR at 0x18000028: TFE bit 2 set, BUSY bit 0 clear; datasheet 4.10.13) and then
 * does the real one's exit: VTOR = 0x10000100, MSP and pc from that vector table.
 * Built position-independent at 0x10000000; the CRC word is checked by
 * tests/test_board_firmware.py (update BOOT2_CRC if you change the code).
 */
#define BOOT2_CRC 0x7ade437d

	.syntax unified
	.cpu cortex-m0plus
	.thumb

	.section .boot2,"ax",%progbits
	.global _stage2_boot
	.type _stage2_boot, %function
	.thumb_func
_stage2_boot:
	push	{lr}
	ldr	r3, =0x18000000		/* XIP_SSI_BASE */
	movs	r1, #0
	str	r1, [r3, #8]		/* SSIENR = 0 */
	movs	r1, #4
	str	r1, [r3, #20]		/* BAUDR = 4 (clk_sys / 4) */
	ldr	r1, =0x001F0300		/* CTRLR0: DFS_32 = 31, TMOD = EEPROM read */
	str	r1, [r3, #0]
	movs	r1, #1
	str	r1, [r3, #8]		/* SSIENR = 1 */
wait_ssi_ready:
	ldr	r1, [r3, #40]		/* SR */
	movs	r0, #4
	tst	r1, r0			/* TFE: transmit FIFO empty */
	beq	wait_ssi_ready
	movs	r0, #1
	tst	r1, r0			/* BUSY */
	bne	wait_ssi_ready
check_return:
	pop	{r0}
	cmp	r0, #0
	beq	vector_into_flash
	bx	r0			/* called from the SDK: return */
vector_into_flash:
	ldr	r0, =0x10000100
	ldr	r1, =0xE000ED08		/* VTOR */
	str	r0, [r1]
	ldmia	r0, {r0, r1}
	msr	MSP, r0
	bx	r1
	.ltorg
	.balign	4
	.space	252 - (. - _stage2_boot), 0
	.word	BOOT2_CRC
	.size _stage2_boot, .-_stage2_boot
