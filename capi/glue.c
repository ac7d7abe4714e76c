/* C glue of the library: what cgo cannot export (the data symbols of the
 * predefined error handlers) and the trampolines through which Go calls
 * application callbacks. Everything here except the four data symbols is
 * hidden by the version script (myriexpress.map). */

#include <stdint.h>
#include <stdlib.h>

#include "open-mx.h"
#include "myriexpress.h"
#include "mx_extensions.h"
#include "_cgo_export.h"

static omx_return_t omx__errors_are_fatal(char *msg, omx_return_t code)
{
  return (omx_return_t)omxGoPredefinedHandler(msg, (uint32_t)code, 1, 0);
}

static omx_return_t omx__errors_return(char *msg, omx_return_t code)
{
  (void)msg;
  return code;
}

static mx_return_t mx__errors_are_fatal(char *msg, mx_return_t code)
{
  return (mx_return_t)omxGoPredefinedHandler(msg, (uint32_t)code, 1, 1);
}

static mx_return_t mx__errors_return(char *msg, mx_return_t code)
{
  (void)msg;
  return code;
}

const omx_error_handler_t OMX_ERRORS_ARE_FATAL = omx__errors_are_fatal;
const omx_error_handler_t OMX_ERRORS_RETURN = omx__errors_return;
const mx_error_handler_t MX_ERRORS_ARE_FATAL = mx__errors_are_fatal;
const mx_error_handler_t MX_ERRORS_RETURN = mx__errors_return;

uint32_t omx__call_error_handler(void *fn, char *msg, uint32_t code)
{
  return (uint32_t)((omx_error_handler_t)fn)(msg, (omx_return_t)code);
}

static char omx__empty_payload[1];

int omx__call_unexp_handler(void *fn, uintptr_t ctx, uint64_t a0,
                            uint64_t a1, uint64_t match_info,
                            uint32_t length, void *data, int avail)
{
  omx_endpoint_addr_t addr;
  addr.data[0] = a0;
  addr.data[1] = a1;
  if (avail && data == NULL)
    data = omx__empty_payload;
  return (int)((omx_unexp_handler_t)fn)((void *)ctx, addr, match_info,
                                        length, avail ? data : NULL);
}

void omx__exit(int status) { exit(status); }

void omx__abort(void) { abort(); }

char *omx__getenv(const char *name) { return getenv(name); }
