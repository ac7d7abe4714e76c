package main

/*
#include <stdlib.h>
typedef const char omx_const_char;
*/
import "C"

import (
	"fmt"
	"sync"

	"github.com/open-mx-go/open-mx-go/compat"
)

// cstrings interns the C copies of the message strings (never freed: the
// API returns them as static strings).
var cstrings sync.Map // string -> *C.char

func cstring(s string) *C.omx_const_char {
	if p, ok := cstrings.Load(s); ok {
		return p.(*C.omx_const_char)
	}
	p, _ := cstrings.LoadOrStore(s, (*C.omx_const_char)(C.CString(s)))
	return p.(*C.omx_const_char)
}

// strerrorC returns the static text of an Open-MX code; an unknown code
// warns on stderr when warn is set (as omx_strerror does).
func strerrorC(code compat.Code, warn bool) *C.omx_const_char {
	s, known := compat.Strerror(code)
	if !known && warn {
		compat.Stderr(fmt.Sprintf("%sWARNING: Failed to stringify unknown return value %d\n", lib.Prefix(), uint32(code)))
	}
	return cstring(s)
}
