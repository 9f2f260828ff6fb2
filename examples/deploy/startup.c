/*
 * Start-up code for a Cortex-M firmware around an exported model: the vector
 * table (initial stack pointer, reset handler, faults) and the reset handler.
 *
 * The reset handler copies .data from flash to RAM and hands over to
 * newlib's _start (rdimon.specs: semihosting), which zeroes .bss, calls main
 * and passes its return value to the debugger or emulator as the exit status.
 * On a board without a debugger, link with nosys.specs instead and replace
 * the call to _start by: zero .bss (__bss_start__ .. __bss_end__), call
 * main, loop.
 */
#include <stdint.h>

extern uint32_t __stack[];
extern uint32_t __data_load__[], __data_start__[], __data_end__[];
extern void _start(void);
extern void _exit(int status);

void Reset_Handler(void);
void Fault_Handler(void);

/* Cortex-M0+ to M7: 16 system exceptions; a board adds its interrupts after them. */
__attribute__((section(".vectors"), used)) void *const vectors[16] = {
    __stack,               /* initial stack pointer */
    (void *)Reset_Handler, /* reset */
    (void *)Fault_Handler, /* NMI */
    (void *)Fault_Handler, /* HardFault */
    (void *)Fault_Handler, /* MemManage (M3 and up) */
    (void *)Fault_Handler, /* BusFault */
    (void *)Fault_Handler, /* UsageFault */
};

void Reset_Handler(void)
{
    /* .data is linked to RAM and loaded into flash (AT > FLASH). */
    const uint32_t *src = __data_load__;
    for (uint32_t *dst = __data_start__; dst < __data_end__;)
        *dst++ = *src++;
    _start();
    for (;;)
        ;
}

/* Under an emulator or a debugger, a fault ends the run with status 99
 * instead of hanging; on a bare board, loop here instead. */
void Fault_Handler(void) { _exit(99); }
