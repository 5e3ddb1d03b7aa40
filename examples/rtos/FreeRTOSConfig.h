/* FreeRTOSConfig.h - configuration of gomcu's reference RTOS (examples/rtos).
 * The names and meanings are FreeRTOS's; the values are this firmware's. */
#ifndef FREERTOS_CONFIG_H
#define FREERTOS_CONFIG_H

#define configCPU_CLOCK_HZ 25000000u /* mps2-an385 SYSCLK */
#define configTICK_RATE_HZ 1000u
#define configMAX_PRIORITIES 5u
#define configMINIMAL_STACK_SIZE 64u /* words: the idle task */
#define configTOTAL_HEAP_SIZE 8192u
#define configTIMER_TASK_STACK_DEPTH 96u
#define configTIMER_TASK_PRIORITY 3u
#define configMAX_TASKS 8u
#define configCHECK_FOR_STACK_OVERFLOW 2 /* the last 16 bytes of each stack hold 0xa5 */

/* Cortex-M priorities: lower numbers are more urgent. The kernel's own interrupts (PendSV,
 * SysTick) run at the lowest priority; BASEPRI masks everything at or below
 * configMAX_SYSCALL_INTERRUPT_PRIORITY inside critical sections, so only interrupts at that
 * priority or below it may call the ...FromISR API. The mps2 FPGA's NVIC implements the top
 * 3 bits (__NVIC_PRIO_BITS 3). */
#define configPRIO_BITS 3
#define configKERNEL_INTERRUPT_PRIORITY 0xE0u
#ifndef configMAX_SYSCALL_INTERRUPT_PRIORITY
#define configMAX_SYSCALL_INTERRUPT_PRIORITY 0x40u
#endif

#endif
