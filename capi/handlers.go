package main

/*
#include <stdint.h>
*/
import "C"

import "github.com/open-mx-go/open-mx-go/compat"

// omxGoPredefinedHandler is the body of OMX_ERRORS_ARE_FATAL and
// MX_ERRORS_ARE_FATAL when a program calls them directly (the library
// itself recognizes them and never calls through the pointer).
//
//export omxGoPredefinedHandler
func omxGoPredefinedHandler(msg *C.char, code C.uint32_t, fatal, mx C.int) C.uint32_t {
	c := compat.Code(code)
	if mx != 0 {
		c = compat.ReturnFromMX(uint32(code))
	}
	kind := compat.HandlerReturn
	if fatal != 0 {
		kind = compat.HandlerFatal
	}
	text := ""
	if msg != nil {
		text = C.GoString(msg)
	}
	lib.CallPredefined(compat.Handler{Kind: kind}, c, text)
	return code
}
