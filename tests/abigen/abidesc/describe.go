package abidesc

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"modernc.org/cc/v4"
)

// Target is the ABI every description is made for.
const Target = "linux/amd64 (LP64), gcc-compatible (enums without negative constants are unsigned int)"

// Spec says which headers one description covers.
type Spec struct {
	// Name is the base name of the reference and generated files
	// (<Name>.json).
	Name string
	// Headers are described, in this order; the first one is File.Header.
	Headers []string
	// Preinclude headers are included first but not described.
	Preinclude []string
}

// Specs are the four header descriptions, as in tests/testdata/abi.
var Specs = []Spec{
	{Name: "myriexpress", Headers: []string{"myriexpress.h"}},
	{Name: "mx_extensions", Headers: []string{"mx_extensions.h"}},
	// Divergence: our mx_raw.h includes myriexpress.h itself; the reference
	// one cannot compile alone. Pre-including it anyway keeps the facts equal:
	// nothing from myriexpress.h is described here in either case.
	{Name: "mx_raw", Headers: []string{"mx_raw.h", "mx_io.h"}, Preinclude: []string{"myriexpress.h"}},
	{Name: "open-mx", Headers: []string{"open-mx.h"}},
}

// Parser parses headers of one include directory. NewParser runs the system
// C compiler once to learn its configuration, so reuse a Parser.
type Parser struct {
	cfg *cc.Config
	dir string // absolute include directory
	rel string // include directory as written in File paths
}

// NewParser returns a Parser for the headers in includeDir, whose paths are
// written relPrefix/<header> in the descriptions (e.g. "include").
func NewParser(includeDir, relPrefix string) (*Parser, error) {
	abs, err := filepath.Abs(includeDir)
	if err != nil {
		return nil, err
	}
	// The settings of the reference generator (abi/README.md).
	cfg, err := cc.NewConfig("linux", "amd64")
	if err != nil {
		return nil, fmt.Errorf("cc config: %w", err)
	}
	cfg.EvalAllMacros = true
	cfg.UnsignedEnums = true
	cfg.Header = true
	cfg.IncludePaths = append([]string{abs}, cfg.IncludePaths...)
	return &Parser{cfg: cfg, dir: abs, rel: relPrefix}, nil
}

// Describe parses the headers of s and describes what they declare.
func (p *Parser) Describe(s Spec) (*File, error) {
	var src strings.Builder
	for _, h := range slices.Concat(s.Preinclude, s.Headers) {
		fmt.Fprintf(&src, "#include \"%s\"\n", h)
	}
	ast, err := cc.Translate(p.cfg, []cc.Source{
		{Name: "<predefined>", Value: p.cfg.Predefined},
		{Name: "<builtin>", Value: cc.Builtin},
		{Name: s.Name + ".c", Value: src.String()},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	d := &describer{
		ast:       ast,
		described: map[string]bool{},
		records:   map[string]*Record{},
		enums:     map[string]*Enum{},
	}
	for _, h := range s.Headers {
		d.described[filepath.Join(p.dir, h)] = true
	}
	if err := d.run(); err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	f := d.file
	f.Header = p.path(s.Headers[0])
	for _, h := range s.Headers {
		f.Headers = append(f.Headers, p.path(h))
	}
	for _, h := range s.Preinclude {
		f.Preinclude = append(f.Preinclude, p.path(h))
	}
	f.Target = Target
	return &f, nil
}

func (p *Parser) path(h string) string {
	if p.rel == "" {
		return h
	}
	return p.rel + "/" + h
}

// describer walks one translation unit.
type describer struct {
	ast       *cc.AST
	described map[string]bool // absolute paths of the described headers
	file      File

	// Records and enums by key (see recordKey), in the order found.
	records    map[string]*Record
	recordKeys []string
	enums      map[string]*Enum
	enumKeys   []string
	// firstTagFile is the file where a struct/union tag is first mentioned:
	// an opaque record belongs to the header that introduces it.
	firstTagFile map[string]string
}

// in reports whether file is one of the described headers.
func (d *describer) in(file string) bool { return d.described[file] }

func (d *describer) run() error {
	d.file.Functions = []Function{}
	d.file.Variables = []Variable{}
	d.file.Enums = []Enum{}
	d.file.Macros = []Macro{}
	d.file.FunctionMacros = []FunctionMacro{}
	d.file.Typedefs = []Typedef{}
	d.file.Records = []Record{}
	d.firstTagFile = map[string]string{}

	for l := d.ast.TranslationUnit; l != nil; l = l.TranslationUnit {
		ed := l.ExternalDeclaration
		if ed == nil {
			continue
		}
		switch ed.Case {
		case cc.ExternalDeclarationDecl:
			if err := d.declaration(ed.Declaration); err != nil {
				return err
			}
		case cc.ExternalDeclarationFuncDef:
			fd := ed.FunctionDefinition
			if d.in(fd.Declarator.Position().Filename) {
				d.specifiers(fd.DeclarationSpecifiers, nil)
				if err := d.function(fd.Declarator); err != nil {
					return err
				}
			}
		}
	}
	if err := d.macros(); err != nil {
		return err
	}
	for _, k := range d.recordKeys {
		d.file.Records = append(d.file.Records, *d.records[k])
	}
	for _, k := range d.enumKeys {
		d.file.Enums = append(d.file.Enums, *d.enums[k])
	}
	sortByName(d.file.Functions, func(x Function) string { return x.Name })
	sortByName(d.file.Variables, func(x Variable) string { return x.Name })
	sortByName(d.file.Enums, func(x Enum) string { return x.Name })
	sortByName(d.file.Macros, func(x Macro) string { return x.Name })
	sortByName(d.file.FunctionMacros, func(x FunctionMacro) string { return x.Name })
	sortByName(d.file.Typedefs, func(x Typedef) string { return x.Name })
	sortByName(d.file.Records, func(x Record) string { return x.Name })
	return nil
}

func sortByName[T any](s []T, name func(T) string) {
	sort.SliceStable(s, func(i, j int) bool { return name(s[i]) < name(s[j]) })
}

// declaration handles one file-scope declaration.
func (d *describer) declaration(decl *cc.Declaration) error {
	if decl.Case != cc.DeclarationDecl {
		return nil // _Static_assert, auto-type
	}
	here := d.in(decl.Position().Filename)
	// Names of the typedefs of this declaration that name its specifier type
	// directly (typedef struct {...} x_t;), for the records and enums.
	var direct []string
	isTypedef := false
	for ds := decl.DeclarationSpecifiers; ds != nil; ds = ds.DeclarationSpecifiers {
		if ds.Case == cc.DeclarationSpecifiersStorage && ds.StorageClassSpecifier.Case == cc.StorageClassSpecifierTypedef {
			isTypedef = true
		}
	}
	if isTypedef {
		for il := decl.InitDeclaratorList; il != nil; il = il.InitDeclaratorList {
			dr := il.InitDeclarator.Declarator
			if plainDeclarator(dr) {
				direct = append(direct, dr.Name())
			}
		}
	}
	d.specifiersIn(decl.DeclarationSpecifiers, direct, here)
	if !here {
		return nil
	}
	for il := decl.InitDeclaratorList; il != nil; il = il.InitDeclaratorList {
		dr := il.InitDeclarator.Declarator
		switch {
		case dr.IsTypename():
			d.typedef(decl, dr)
		case dr.Type().Kind() == cc.Function:
			if err := d.function(dr); err != nil {
				return err
			}
		default:
			t := dr.Type()
			d.file.Variables = append(d.file.Variables, Variable{
				Name:   dr.Name(),
				Type:   qualified(dr.IsConst(), typeString(t, nil)),
				Extern: dr.IsExtern(),
				Size:   t.Size(),
			})
		}
	}
	return nil
}

// plainDeclarator reports whether dr is just an identifier (no pointer, array
// or function part), so that it has the type of its specifiers.
func plainDeclarator(dr *cc.Declarator) bool {
	return dr.Pointer == nil && dr.DirectDeclarator != nil && dr.DirectDeclarator.Case == cc.DirectDeclaratorIdent
}

// qualified adds const to a type string built without it.
func qualified(isConst bool, s string) string {
	if isConst && !strings.HasPrefix(s, "const ") {
		return "const " + s
	}
	return s
}

func (d *describer) specifiers(ds *cc.DeclarationSpecifiers, direct []string) {
	d.specifiersIn(ds, direct, true)
}

// specifiersIn records the struct, union and enum types a declaration's
// specifiers define or mention. Only those of described headers (here) are
// listed, but tags are tracked everywhere.
func (d *describer) specifiersIn(ds *cc.DeclarationSpecifiers, direct []string, here bool) {
	for ; ds != nil; ds = ds.DeclarationSpecifiers {
		if ds.Case != cc.DeclarationSpecifiersTypeSpec {
			continue
		}
		ts := ds.TypeSpecifier
		switch ts.Case {
		case cc.TypeSpecifierStructOrUnion:
			d.record(ts.StructOrUnionSpecifier, direct, here)
		case cc.TypeSpecifierEnum:
			if here {
				d.enum(ts.EnumSpecifier, direct)
			}
		}
	}
}

func (d *describer) record(sp *cc.StructOrUnionSpecifier, direct []string, here bool) {
	kind := "struct"
	if sp.StructOrUnion.Case == cc.StructOrUnionUnion {
		kind = "union"
	}
	tag := sp.Token.SrcStr()
	if sp.Case == cc.StructOrUnionSpecifierTag {
		// A mention without a body: an opaque record, listed by the header
		// that introduces the tag, unless a body is given somewhere.
		k := kind + " " + tag
		if _, ok := d.firstTagFile[k]; !ok {
			d.firstTagFile[k] = sp.Position().Filename
		}
		if !here || d.firstTagFile[k] != sp.Position().Filename {
			if r, ok := d.records[k]; ok && here {
				r.Typedefs = appendNew(r.Typedefs, direct...)
			}
			return
		}
		r := d.recordFor(k, kind, tag, direct)
		r.Typedefs = appendNew(r.Typedefs, direct...)
		if t := sp.Type(); t.IsIncomplete() {
			r.Incomplete = true
		} else {
			// Defined in a later declaration: the layout comes from there.
			d.layout(r, t)
		}
		return
	}
	if tag != "" {
		k := kind + " " + tag
		if _, ok := d.firstTagFile[k]; !ok {
			d.firstTagFile[k] = sp.Position().Filename
		}
	}
	if !here {
		return
	}
	k := kind + " " + tag
	if tag == "" {
		if len(direct) == 0 {
			return // an anonymous type used only through a pointer or array
		}
		k = kind + " @" + direct[0]
	}
	r := d.recordFor(k, kind, tag, direct)
	r.Typedefs = appendNew(r.Typedefs, direct...)
	r.Incomplete = false
	d.layout(r, sp.Type())
}

func (d *describer) recordFor(k, kind, tag string, direct []string) *Record {
	if r, ok := d.records[k]; ok {
		return r
	}
	name := tag
	if name == "" && len(direct) > 0 {
		name = direct[0]
	}
	r := &Record{Name: name, Kind: kind, Tag: tag}
	d.records[k] = r
	d.recordKeys = append(d.recordKeys, k)
	return r
}

func (d *describer) layout(r *Record, t cc.Type) {
	r.Incomplete = false
	r.Size = t.Size()
	r.Align = int64(t.Align())
	r.Fields = fields(t)
}

// fields describes the members of a struct or union type.
func fields(t cc.Type) []Field {
	var n int
	var at func(int) *cc.Field
	switch x := t.(type) {
	case *cc.StructType:
		n, at = x.NumFields(), x.FieldByIndex
	case *cc.UnionType:
		n, at = x.NumFields(), x.FieldByIndex
	default:
		return nil
	}
	var out []Field
	for i := 0; i < n; i++ {
		f := at(i)
		ft := f.Type()
		fd := Field{
			Name:   f.Name(),
			Type:   typeString(ft, nil),
			Offset: f.Offset(),
			Size:   ft.Size(),
			Align:  int64(ft.Align()),
		}
		if f.IsBitfield() {
			fd.Bits = f.ValueBits()
			fd.BitOffset = int64(f.OffsetBits())
		}
		if isAnonymousRecord(ft) {
			fd.Fields = fields(ft)
		}
		out = append(out, fd)
	}
	return out
}

// isAnonymousRecord reports whether t is a struct or union type written out
// in place (no tag, no typedef name).
func isAnonymousRecord(t cc.Type) bool {
	if t.Typedef() != nil {
		return false
	}
	switch x := t.(type) {
	case *cc.StructType:
		return tagName(x.Tag()) == ""
	case *cc.UnionType:
		return tagName(x.Tag()) == ""
	}
	return false
}

func (d *describer) enum(sp *cc.EnumSpecifier, direct []string) {
	tag := sp.Token2.SrcStr()
	if sp.Case == cc.EnumSpecifierTag {
		// enum x used as a type: adds typedef names to an enum of ours.
		if e, ok := d.enums["enum "+tag]; ok {
			e.Typedefs = appendNew(e.Typedefs, direct...)
		}
		return
	}
	k := "enum " + tag
	if tag == "" {
		if len(direct) == 0 {
			k = fmt.Sprintf("enum @%p", sp)
		} else {
			k = "enum @" + direct[0]
		}
	}
	e, ok := d.enums[k]
	if !ok {
		name := tag
		if name == "" && len(direct) > 0 {
			name = direct[0]
		}
		t := sp.Type()
		e = &Enum{
			Name:       name,
			Tag:        tag,
			Size:       t.Size(),
			Align:      int64(t.Align()),
			Constants:  []Constant{},
			Underlying: "int",
		}
		if et, ok := t.(*cc.EnumType); ok {
			e.Underlying = typeString(et.UnderlyingType(), nil)
		}
		for l := sp.EnumeratorList; l != nil; l = l.EnumeratorList {
			en := l.Enumerator
			c := Constant{Name: en.Token.SrcStr(), Value: number(en.Value())}
			if en.Case == cc.EnumeratorExpr && !isIntegerLiteral(en.ConstantExpression) {
				c.Expr = nodeText(en.ConstantExpression)
			}
			e.Constants = append(e.Constants, c)
		}
		d.enums[k] = e
		d.enumKeys = append(d.enumKeys, k)
	}
	e.Typedefs = appendNew(e.Typedefs, direct...)
}

func appendNew(s []string, v ...string) []string {
	for _, x := range v {
		if !slices.Contains(s, x) {
			s = append(s, x)
		}
	}
	return s
}

// number formats an integer constant value; other values give "".
func number(v cc.Value) json.Number {
	switch x := v.(type) {
	case cc.Int64Value:
		return json.Number(strconv.FormatInt(int64(x), 10))
	case cc.UInt64Value:
		return json.Number(strconv.FormatUint(uint64(x), 10))
	}
	return ""
}

// isIntegerLiteral reports whether an expression is one integer constant
// token.
func isIntegerLiteral(n cc.Node) bool {
	toks := cc.NodeTokens(n)
	return len(toks) == 1 && toks[0].Ch == rune(cc.INTCONST)
}

// nodeText is the source text of a node, with each run of white space and
// comments turned into one space.
func nodeText(n cc.Node) string {
	return joinTokens(cc.NodeTokens(n))
}

func joinTokens(toks []cc.Token) string {
	var b strings.Builder
	for i, t := range toks {
		if i > 0 && len(t.Sep()) > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t.SrcStr())
	}
	return b.String()
}

func (d *describer) typedef(decl *cc.Declaration, dr *cc.Declarator) {
	t := dr.Type()
	s := typeString(t, dr)
	// typedef a_t b_t: cc gives b_t the type of a_t renamed, so one level
	// down is the name written in the specifiers.
	if plainDeclarator(dr) {
		if name, isConst := specifierTypedefName(decl.DeclarationSpecifiers); name != "" {
			s = qualified(isConst, name)
		}
	}
	d.file.Typedefs = append(d.file.Typedefs, Typedef{
		Name:  dr.Name(),
		Type:  s,
		Size:  t.Size(),
		Align: int64(t.Align()),
	})
}

// specifierTypedefName returns the typedef name used as the type specifier,
// if any, and whether const is among the specifiers.
func specifierTypedefName(ds *cc.DeclarationSpecifiers) (name string, isConst bool) {
	for ; ds != nil; ds = ds.DeclarationSpecifiers {
		switch ds.Case {
		case cc.DeclarationSpecifiersTypeSpec:
			if ds.TypeSpecifier.Case == cc.TypeSpecifierTypeName {
				name = ds.TypeSpecifier.Token.SrcStr()
			}
		case cc.DeclarationSpecifiersTypeQual:
			if ds.TypeQualifier.Case == cc.TypeQualifierConst {
				isConst = true
			}
		}
	}
	return name, isConst
}

func (d *describer) function(dr *cc.Declarator) error {
	ft, ok := dr.Type().(*cc.FunctionType)
	if !ok {
		return fmt.Errorf("%v: %s is not a function", dr.Position(), dr.Name())
	}
	fn := Function{
		Name:     dr.Name(),
		Return:   typeString(ft.Result(), nil),
		Params:   params(ft),
		Variadic: ft.IsVariadic(),
		Static:   dr.IsStatic(),
		Inline:   dr.IsInline(),
	}
	d.file.Functions = append(d.file.Functions, fn)
	return nil
}

// params lists the parameters of ft; (void) gives an empty list.
func params(ft *cc.FunctionType) []Param {
	ps := ft.Parameters()
	out := []Param{}
	if len(ps) == 1 && ps[0].Type().Kind() == cc.Void && ps[0].Name() == "" {
		return out
	}
	for _, p := range ps {
		out = append(out, Param{Name: p.Name(), Type: typeString(p.Type(), nil)})
	}
	return out
}

func (d *describer) macros() error {
	for name, m := range d.ast.Macros {
		if !d.in(m.Position().Filename) {
			continue
		}
		repl := joinTokens(m.ReplacementList())
		if m.IsFnLike {
			ps := []string{}
			for _, p := range m.Params {
				ps = append(ps, p.SrcStr())
			}
			d.file.FunctionMacros = append(d.file.FunctionMacros, FunctionMacro{Name: name, Params: ps, Replacement: repl})
			continue
		}
		mc := Macro{Name: name, Replacement: repl}
		switch v := m.Value().(type) {
		case cc.Int64Value, cc.UInt64Value:
			mc.Value = number(v)
			mc.Type = macroType(d.ast, m)
		case cc.StringValue:
			mc.Value = strings.TrimSuffix(string(v), "\x00")
			mc.Type = macroType(d.ast, m)
		}
		d.file.Macros = append(d.file.Macros, mc)
	}
	return nil
}

// macroType is the C type of a macro's value. An enumeration constant has
// type int in C, so a macro naming one is an int.
func macroType(ast *cc.AST, m *cc.Macro) string {
	t := m.Type()
	if t.Kind() == cc.Enum && t.Typedef() == nil {
		if l := m.ReplacementList(); len(l) == 1 && l[0].Ch == rune(cc.IDENTIFIER) {
			return "int"
		}
	}
	return typeString(t, nil)
}
