package abidesc

import (
	"strconv"
	"strings"

	"modernc.org/cc/v4"
)

// typeString writes t as a C abstract declarator, keeping typedef names as
// written: "uint32_t", "mx_request_t *", "const char *", "uint64_t[2]",
// "mx_return_t (*)(char *, mx_return_t)". Anonymous struct, union and enum
// types are written out in full.
//
// self is the typedef being described, or nil: its own name is not used for
// the outermost type, which gives the type "one level down".
//
// Known limit: cc/v4 drops the qualifiers of array elements, so
// "const char *const a[2]" comes out as "const char *[2]". The ABI headers
// have no such declaration.
func typeString(t cc.Type, self *cc.Declarator) string {
	return declString(t, "", self)
}

// declString writes the declaration of inner (a name, or a partial abstract
// declarator) with type t.
func declString(t cc.Type, inner string, self *cc.Declarator) string {
	isConst := t.Attributes().IsConst()
	if td := t.Typedef(); td != nil && td != self {
		return join(qualified(isConst, td.Name()), inner)
	}
	switch x := t.(type) {
	case *cc.PointerType:
		p := "*"
		if isConst {
			p = "*const"
			if inner != "" {
				p += " "
			}
		}
		inner = p + inner
		if k := x.Elem().Kind(); (k == cc.Array || k == cc.Function) && x.Elem().Typedef() == nil {
			inner = "(" + inner + ")"
		}
		return declString(x.Elem(), inner, nil)
	case *cc.ArrayType:
		n := ""
		if !x.IsIncomplete() && x.Len() >= 0 {
			n = strconv.FormatInt(x.Len(), 10)
		}
		return declString(x.Elem(), inner+"["+n+"]", nil)
	case *cc.FunctionType:
		var ps []string
		for _, p := range params(x) {
			ps = append(ps, p.Type)
		}
		if x.IsVariadic() {
			ps = append(ps, "...")
		}
		list := strings.Join(ps, ", ")
		if list == "" {
			list = "void"
		}
		return declString(x.Result(), inner+"("+list+")", nil)
	}
	return join(qualified(isConst, baseString(t)), inner)
}

// join puts a base type and a declarator together: "uint64_t[2]",
// "char *", "uint64_t stuff[2]".
func join(base, inner string) string {
	switch {
	case inner == "":
		return base
	case strings.HasPrefix(inner, "["):
		return base + inner
	}
	return base + " " + inner
}

// baseString writes a type that is not derived (no pointer, array or
// function part) and has no typedef name.
func baseString(t cc.Type) string {
	switch x := t.(type) {
	case *cc.StructType:
		if tag := tagName(x.Tag()); tag != "" {
			return "struct " + tag
		}
		return "struct " + memberList(t)
	case *cc.UnionType:
		if tag := tagName(x.Tag()); tag != "" {
			return "union " + tag
		}
		return "union " + memberList(t)
	case *cc.EnumType:
		if tag := tagName(x.Tag()); tag != "" {
			return "enum " + tag
		}
		var names []string
		for _, e := range x.Enumerators() {
			names = append(names, e.Token.SrcStr())
		}
		return "enum { " + strings.Join(names, ", ") + " }"
	}
	if s, ok := kindNames[t.Kind()]; ok {
		return s
	}
	return t.String()
}

// memberList writes "{ type name; ... }" for a struct or union type.
func memberList(t cc.Type) string {
	var b strings.Builder
	b.WriteString("{ ")
	var n int
	var at func(int) *cc.Field
	switch x := t.(type) {
	case *cc.StructType:
		n, at = x.NumFields(), x.FieldByIndex
	case *cc.UnionType:
		n, at = x.NumFields(), x.FieldByIndex
	}
	for i := 0; i < n; i++ {
		f := at(i)
		b.WriteString(declString(f.Type(), f.Name(), nil))
		if f.IsBitfield() {
			b.WriteString(" : " + strconv.FormatInt(f.ValueBits(), 10))
		}
		b.WriteString("; ")
	}
	b.WriteString("}")
	return b.String()
}

// kindNames spells the basic types the way C programs write them.
var kindNames = map[cc.Kind]string{
	cc.Void:       "void",
	cc.Bool:       "_Bool",
	cc.Char:       "char",
	cc.SChar:      "signed char",
	cc.UChar:      "unsigned char",
	cc.Short:      "short",
	cc.UShort:     "unsigned short",
	cc.Int:        "int",
	cc.UInt:       "unsigned int",
	cc.Long:       "long",
	cc.ULong:      "unsigned long",
	cc.LongLong:   "long long",
	cc.ULongLong:  "unsigned long long",
	cc.Int128:     "__int128",
	cc.UInt128:    "unsigned __int128",
	cc.Float:      "float",
	cc.Double:     "double",
	cc.LongDouble: "long double",
}

// tagName is the text of a tag token ("" for an anonymous type).
func tagName(t cc.Token) string { return t.SrcStr() }
