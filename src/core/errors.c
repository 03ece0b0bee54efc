/* Names for the shared error codes of include/errors.h. */
#include "errors.h"

static const char *const names[] = {
	"ok",
	"out of memory",
	"I/O error",
	"parse error",
	"limit exceeded",
	"transient failure",
	"permanent failure",
	"not found",
	"duplicate",
	"budget exhausted",
	"invalid configuration",
	"stopped",
	"invalid argument",
};

const char *err_str(int code)
{
	int i = -code;

	if (i < 0 || (unsigned)i >= sizeof(names) / sizeof(names[0]))
		return "unknown error";
	return names[i];
}
