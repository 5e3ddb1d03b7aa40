/* port.c - the Cortex-M3 port, shaped like FreeRTOS's portable/GCC/ARM_CM3/port.c:
 * the first task starts through SVC, tasks switch in PendSV (r4-r11 saved on the task's
 * process stack beside the exception frame), SysTick drives the tick, and critical sections
 * raise BASEPRI to configMAX_SYSCALL_INTERRUPT_PRIORITY instead of disabling interrupts. */
#include "FreeRTOS.h"

#define portNVIC_SYSTICK_CTRL_REG (*(volatile uint32_t *)0xE000E010u)
#define portNVIC_SYSTICK_LOAD_REG (*(volatile uint32_t *)0xE000E014u)
#define portNVIC_SYSTICK_CURRENT_VALUE_REG (*(volatile uint32_t *)0xE000E018u)
#define portNVIC_SHPR3_REG (*(volatile uint32_t *)0xE000ED20u)
#define portNVIC_IP_REGISTERS_OFFSET_16 0xE000E3F0u
#define portFIRST_USER_INTERRUPT_NUMBER 16u
#define portINITIAL_XPSR 0x01000000u
#define portSTART_ADDRESS_MASK 0xFFFFFFFEu

extern void *volatile pxCurrentTCB;

static UBaseType_t uxCriticalNesting = 0xaaaaaaaau;
/* What the NVIC keeps of configMAX_SYSCALL_INTERRUPT_PRIORITY (computed in xPortStartScheduler,
 * as FreeRTOS does for configASSERT). */
static uint8_t ucMaxSysCallPriority;
/* Run-time checks FreeRTOS makes with configASSERT; counted here so the demo can report them. */
volatile uint32_t ulPortPriorityViolations;
volatile uint32_t ulPortCriticalFromISR;

static void prvTaskExitError(void)
{
	vBoardPuts("task returned\n");
	vBoardExit(2);
}

StackType_t *pxPortInitialiseStack(StackType_t *pxTopOfStack, TaskFunction_t pxCode, void *pvParameters)
{
	pxTopOfStack--; /* the frame starts one word below the top, as in FreeRTOS */
	*pxTopOfStack = portINITIAL_XPSR;
	pxTopOfStack--;
	*pxTopOfStack = ((StackType_t)pxCode) & portSTART_ADDRESS_MASK; /* pc */
	pxTopOfStack--;
	*pxTopOfStack = (StackType_t)prvTaskExitError; /* lr */
	pxTopOfStack -= 5; /* r12, r3, r2, r1 */
	*pxTopOfStack = (StackType_t)pvParameters; /* r0 */
	pxTopOfStack -= 8; /* r11..r4 */
	return pxTopOfStack;
}

__attribute__((naked)) void vPortSVCHandler(void)
{
	__asm volatile(
		"	ldr r3, =pxCurrentTCB	\n"
		"	ldr r1, [r3]		\n"
		"	ldr r0, [r1]		\n" /* pxTopOfStack */
		"	ldmia r0!, {r4-r11}	\n"
		"	msr psp, r0		\n"
		"	isb			\n"
		"	mov r0, #0		\n"
		"	msr basepri, r0		\n"
		"	orr r14, #0xd		\n" /* return to thread mode on the process stack */
		"	bx r14			\n"
		"	.ltorg			\n");
}

__attribute__((naked)) void xPortPendSVHandler(void)
{
	__asm volatile(
		"	mrs r0, psp		\n"
		"	isb			\n"
		"	ldr r3, =pxCurrentTCB	\n"
		"	ldr r2, [r3]		\n"
		"	stmdb r0!, {r4-r11}	\n" /* save the outgoing task's registers on its stack */
		"	str r0, [r2]		\n"
		"	stmdb sp!, {r3, r14}	\n"
		"	mov r0, %0		\n"
		"	msr basepri, r0		\n"
		"	dsb			\n"
		"	isb			\n"
		"	bl vTaskSwitchContext	\n"
		"	mov r0, #0		\n"
		"	msr basepri, r0		\n"
		"	ldmia sp!, {r3, r14}	\n"
		"	ldr r1, [r3]		\n"
		"	ldr r0, [r1]		\n"
		"	ldmia r0!, {r4-r11}	\n"
		"	msr psp, r0		\n"
		"	isb			\n"
		"	bx r14			\n"
		"	.ltorg			\n"
		:: "i"(configMAX_SYSCALL_INTERRUPT_PRIORITY));
}

void xPortSysTickHandler(void)
{
	uint32_t ulPrevious = ulPortRaiseBASEPRI();
	if (xTaskIncrementTick() != pdFALSE)
		portNVIC_INT_CTRL_REG = portNVIC_PENDSVSET_BIT;
	vPortSetBASEPRI(ulPrevious);
}

uint32_t ulPortRaiseBASEPRI(void)
{
	uint32_t ulOriginal, ulNew;
	__asm volatile(
		"	mrs %0, basepri	\n"
		"	mov %1, %2	\n"
		"	msr basepri, %1	\n"
		"	isb		\n"
		"	dsb		\n"
		: "=r"(ulOriginal), "=r"(ulNew) : "i"(configMAX_SYSCALL_INTERRUPT_PRIORITY) : "memory");
	return ulOriginal;
}

void vPortSetBASEPRI(uint32_t ulNewMask)
{
	__asm volatile("msr basepri, %0" :: "r"(ulNewMask) : "memory");
}

void vPortEnterCritical(void)
{
	(void)ulPortRaiseBASEPRI();
	uxCriticalNesting++;
	/* FreeRTOS asserts here: a critical section entered from an interrupt (VECTACTIVE != 0)
	 * means a non-FromISR API was called from a handler. */
	if (uxCriticalNesting == 1 && (portNVIC_INT_CTRL_REG & 0xFFu) != 0)
		ulPortCriticalFromISR++;
}

void vPortExitCritical(void)
{
	uxCriticalNesting--;
	if (uxCriticalNesting == 0)
		vPortSetBASEPRI(0);
}

/* FreeRTOS's vPortValidateInterruptPriority: a handler that calls the ...FromISR API must not
 * be more urgent (numerically lower) than configMAX_SYSCALL_INTERRUPT_PRIORITY, or a critical
 * section would not mask it. */
void vPortValidateInterruptPriority(void)
{
	uint32_t ulCurrentInterrupt;
	__asm volatile("mrs %0, ipsr" : "=r"(ulCurrentInterrupt) :: "memory");
	if (ulCurrentInterrupt >= portFIRST_USER_INTERRUPT_NUMBER) {
		uint8_t ucCurrentPriority = *(volatile uint8_t *)(portNVIC_IP_REGISTERS_OFFSET_16 + ulCurrentInterrupt);
		if (ucCurrentPriority < ucMaxSysCallPriority)
			ulPortPriorityViolations++;
	}
}

__attribute__((naked, noinline)) static void prvPortStartFirstTask(void)
{
	__asm volatile(
		"	ldr r0, =0xE000ED08	\n" /* VTOR -> the vector table -> the initial MSP */
		"	ldr r0, [r0]		\n"
		"	ldr r0, [r0]		\n"
		"	msr msp, r0		\n"
		"	cpsie i			\n"
		"	cpsie f			\n"
		"	dsb			\n"
		"	isb			\n"
		"	svc 0			\n"
		"	nop			\n"
		"	.ltorg			\n");
}

BaseType_t xPortStartScheduler(void)
{
	volatile uint8_t *const pucFirstUserPriorityRegister =
		(volatile uint8_t *)(portNVIC_IP_REGISTERS_OFFSET_16 + portFIRST_USER_INTERRUPT_NUMBER);
	uint8_t ucOriginalPriority = *pucFirstUserPriorityRegister;
	*pucFirstUserPriorityRegister = 0xFFu;
	uint8_t ucMaxPriorityValue = *pucFirstUserPriorityRegister;
	ucMaxSysCallPriority = configMAX_SYSCALL_INTERRUPT_PRIORITY & ucMaxPriorityValue;
	*pucFirstUserPriorityRegister = ucOriginalPriority;

	portNVIC_SHPR3_REG |= ((uint32_t)configKERNEL_INTERRUPT_PRIORITY << 16) |
			      ((uint32_t)configKERNEL_INTERRUPT_PRIORITY << 24);
	portNVIC_SYSTICK_CTRL_REG = 0;
	portNVIC_SYSTICK_CURRENT_VALUE_REG = 0;
	portNVIC_SYSTICK_LOAD_REG = configCPU_CLOCK_HZ / configTICK_RATE_HZ - 1u;
	portNVIC_SYSTICK_CTRL_REG = 7u; /* core clock, interrupt, enable */
	uxCriticalNesting = 0;
	prvPortStartFirstTask();
	return pdFALSE;
}
