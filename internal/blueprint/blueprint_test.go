package blueprint_test

import (
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/blueprint"
	"github.com/steward-itaas/steward/internal/errs"
)

func sample(t *testing.T) *blueprint.Blueprint {
	t.Helper()
	data, err := os.ReadFile("testdata/web-stack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := blueprint.Parse(data)
	if err != nil {
		t.Fatalf("the sample does not parse: %v", err)
	}
	return b
}

func TestParseSample(t *testing.T) {
	b := sample(t)
	if b.Code != "web-stack" || b.Name != "Web application stack" || len(b.Inputs) != 3 || len(b.Steps) != 2 || len(b.Outputs) != 3 {
		t.Fatalf("parsed %+v", b)
	}
	if st := b.Steps[1]; st.Name != "app" || st.Provider != "internal-vms" || st.Offering != "vm" || st.Plan != "bronze" || st.Line != 26 || st.PlanLine != 28 {
		t.Fatalf("step 2 = %+v", st)
	}
	if b.Steps[0].Provider != "" {
		t.Fatalf("step 1 names no provider: placement chooses, got %q", b.Steps[0].Provider)
	}
	if got := b.Needed(); !reflect.DeepEqual(got, []string{"app_name"}) {
		t.Fatalf("needed inputs = %v", got)
	}
}

// TestRender runs the sample's templates: typed whole expressions,
// interpolation, nested maps, earlier steps' results and outputs.
func TestRender(t *testing.T) {
	b := sample(t)
	in, err := b.Resolve(map[string]any{"app_name": "shop", "replicas": float64(2), "unrelated": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, map[string]any{"app_name": "shop", "replicas": int64(2), "size": "small"}) {
		t.Fatalf("inputs = %#v", in)
	}
	vars := blueprint.Vars{Inputs: in, Instance: map[string]any{"id": "i-1", "org_unit": "CC-4100"}, Steps: map[string]blueprint.StepResult{}}
	p0, err := b.Parameters(t.Context(), 0, vars)
	if err != nil || !reflect.DeepEqual(p0, map[string]any{"bucket_name": "shop-data"}) {
		t.Fatalf("step 1 parameters = %#v, %v", p0, err)
	}
	if _, err := b.Parameters(t.Context(), 1, vars); err == nil || !strings.Contains(err.Error(), "step app") {
		t.Fatalf("step 2 before step 1 ran: %v", err)
	}
	vars.Steps["database"] = blueprint.StepResult{ID: "c-1", Provider: "store", DashboardURL: "https://db.example/c-1"}
	p1, err := b.Parameters(t.Context(), 1, vars)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"hostname": "shop", "replicas": int64(2), "large": false, "database": "c-1",
		"labels": map[string]any{"owner": "CC-4100", "tier": "web"}, "note": "db at https://db.example/c-1 for shop"}
	if !reflect.DeepEqual(p1, want) {
		t.Fatalf("step 2 parameters =\n%#v\nwant\n%#v", p1, want)
	}
	vars.Steps["app"] = blueprint.StepResult{ID: "c-2", DashboardURL: "https://vm.example/c-2"}
	out, err := b.Render(t.Context(), vars)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, map[string]any{"url": "https://vm.example/c-2", "database_id": "c-1", "summary": "shop on 2 replica(s)"}) {
		t.Fatalf("outputs = %#v", out)
	}
}

func TestResolveRefuses(t *testing.T) {
	b := sample(t)
	for _, tc := range []struct {
		name   string
		params map[string]any
		field  string
	}{
		{"missing", map[string]any{}, "inputs.app_name"},
		{"pattern", map[string]any{"app_name": "Shop!"}, "inputs.app_name"},
		{"not whole", map[string]any{"app_name": "shop", "replicas": 1.5}, "inputs.replicas"},
		{"above maximum", map[string]any{"app_name": "shop", "replicas": float64(9)}, "inputs.replicas"},
		{"not in enum", map[string]any{"app_name": "shop", "size": "huge"}, "inputs.size"},
		{"wrong type", map[string]any{"app_name": 7}, "inputs.app_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Resolve(tc.params)
			e := errs.As(err)
			if err == nil || len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
				t.Fatalf("err = %v, want one error on %s", err, tc.field)
			}
		})
	}
}

// TestParseErrorsByLine: every problem is reported with its line, all at once.
func TestParseErrorsByLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want []string // "line:field" of each problem, in line order
	}{
		{"not yaml", "blueprint: x\nsteps: [\n", []string{"2:"}},
		{"empty", "", []string{"1:"}},
		{"required", "description: nothing\n", []string{"1:blueprint", "1:name", "1:steps"}},
		{"unknown key and bad code", "blueprint: Web Stack\nname: W\nstep: []\nsteps:\n  - name: a\n    plan: vm/bronze\n",
			[]string{"1:blueprint", "3:step"}},
		{"step problems", `blueprint: w
name: W
steps:
  - name: db
    plan: vm
  - name: db
    plan: vm/bronze
    size: big
  - plan: vm/bronze
`, []string{"5:steps[0].plan", "6:steps[1].name", "8:steps[1].size", "9:steps[2].name"}},
		{"inputs", `blueprint: w
name: W
inputs:
  App-Name: {type: string}
  size:
    type: text
  count:
    type: integer
    default: many
  mode:
    type: string
    pattern: "(["
steps:
  - name: a
    plan: vm/bronze
`, []string{"4:inputs.App-Name", "6:inputs.size.type", "9:inputs.count.default", "12:inputs.mode.pattern"}},
		{"expressions", `blueprint: w
name: W
steps:
  - name: a
    plan: vm/bronze
    parameters:
      x: ${steps.b.id}
      y: ${steps.nope.id}
      z: ${inputs.name +}
      w: "${inputs.name"
      v: ${missing.thing}
  - name: b
    plan: vm/bronze
    parameters:
      a: ${steps.a.id}
      b: ${steps.b.id}
outputs:
  ok: ${steps.b.dashboard_url}
  bad: ${steps.c.id}
`, []string{"7:steps[0].parameters.x", "8:steps[0].parameters.y", "9:steps[0].parameters.z", "10:steps[0].parameters.w",
			"11:steps[0].parameters.v", "16:steps[1].parameters.b", "19:outputs.bad"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := blueprint.Parse([]byte(tc.src))
			if err == nil {
				t.Fatal("parsed")
			}
			e := errs.As(err)
			var got []string
			for _, f := range e.Fields {
				if f.Message == "" {
					t.Errorf("problem on line %d has no message", f.Line)
				}
				got = append(got, strconv.Itoa(f.Line)+":"+f.Field)
			}
			if tc.name == "expressions" && !strings.Contains(e.Fields[0].Message, "step b, which has not run yet") ||
				tc.name == "expressions" && !strings.Contains(e.Fields[5].Message, "step b, which has not run yet") {
				t.Errorf("a later step and the step itself are not told apart from no step: %v", e.Fields)
			}
			if e.Code != errs.CodeInvalid || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("problems = %v\nwant %v\n%v", got, tc.want, err)
			}
		})
	}
}

// refsBlueprint is a blueprint with inputs hostname, replicas and size and
// steps database and app; %s is put in as step app's parameter x (or, with
// out, as the output o).
func refsBlueprint(param, out string) string {
	return `blueprint: refs
name: References
inputs:
  hostname: {type: string, required: true}
  replicas: {type: integer, default: 1}
  size: {type: string, default: small}
steps:
  - name: database
    plan: bucket/standard
  - name: app
    plan: vm/bronze
    parameters:
      x: "` + param + `"
  - name: cache
    plan: vm/bronze
outputs:
  o: "` + out + `"
`
}

// Issue 17, item 17: a typo in a reference to an input, a step, a step's
// result or the instance is refused at the check, as a field error on the
// line that names the step (or output), the expression and the bad name,
// and suggests the closest valid name, wherever in the expression the
// reference is (interpolated, in a macro, tested with has(), indexed).
func TestParseRefusesReferenceTypos(t *testing.T) {
	const ok = "${steps.database.id}"
	for _, tc := range []struct {
		name, param, out string
		field, rule      string
		want             []string // substrings of the one problem's message
		not              string   // what the message must not say
	}{
		{"input", "${inputs.hostnme}", ok, "steps[1].parameters.x", "reference",
			[]string{"${inputs.hostnme} in step app", "input hostnme", "did you mean hostname?"}, ""},
		{"input interpolated", "web-${inputs.hostnme}-1", ok, "steps[1].parameters.x", "reference",
			[]string{"step app", "input hostnme", "did you mean hostname?"}, ""},
		{"input transposed", "${inputs.replicsa + 1}", ok, "steps[1].parameters.x", "reference",
			[]string{"input replicsa", "did you mean replicas?"}, ""},
		{"input in a macro", "${[1, 2].map(n, n * inputs.replica)}", ok, "steps[1].parameters.x", "reference",
			[]string{"input replica", "did you mean replicas?"}, ""},
		{"input in has", "${has(inputs.sise) ? 1 : 2}", ok, "steps[1].parameters.x", "reference",
			[]string{"input sise", "did you mean size?"}, ""},
		{"input indexed", `${inputs['hostnme']}`, ok, "steps[1].parameters.x", "reference",
			[]string{"input hostnme", "did you mean hostname?"}, ""},
		{"input in another case", "${inputs.HostName}", ok, "steps[1].parameters.x", "reference",
			[]string{"input HostName", "did you mean hostname?"}, ""},
		{"input nothing like", "${inputs.colour}", ok, "steps[1].parameters.x", "reference",
			[]string{"input colour", "which the blueprint does not declare", "its inputs are hostname, replicas and size"}, "did you mean"},
		{"input in an output", ok, "${inputs.hostnme}", "outputs.o", "reference",
			[]string{"${inputs.hostnme} in output o", "did you mean hostname?"}, ""},
		{"step", "${steps.databse.id}", ok, "steps[1].parameters.x", "reference",
			[]string{"${steps.databse.id} in step app", "step databse", "no step has that name", "did you mean database?"}, ""},
		{"step nothing like", "${steps.queue.id}", ok, "steps[1].parameters.x", "reference",
			[]string{"step queue", "no step has that name", "the steps before it are database"}, "did you mean"},
		{"step whole", "${steps.databse}", ok, "steps[1].parameters.x", "reference",
			[]string{"step databse", "did you mean database?"}, ""},
		{"step later", "${steps.cache.id}", ok, "steps[1].parameters.x", "order",
			[]string{"step cache, which has not run yet here", "only the steps before it"}, ""},
		{"step itself", "${steps.app.id}", ok, "steps[1].parameters.x", "order",
			[]string{"step app, which has not run yet here", "this step"}, ""},
		{"step later misspelt", "${steps.cahce.id}", ok, "steps[1].parameters.x", "reference",
			[]string{"step cahce", "no step has that name", "the steps before it are database"}, "did you mean cache"},
		{"step in an output", ok, "${steps.ap.dashboard_url}", "outputs.o", "reference",
			[]string{"${steps.ap.dashboard_url} in output o", "step ap", "did you mean app?"}, ""},
		{"step result", "${steps.database.dashbord_url}", ok, "steps[1].parameters.x", "reference",
			[]string{"steps.database.dashbord_url", "did you mean dashboard_url?", "id, provider, dashboard_url and outputs"}, ""},
		{"step result short", "${steps.database.idd}", ok, "steps[1].parameters.x", "reference",
			[]string{"steps.database.idd", "did you mean id?"}, ""},
		{"step result indexed", "${steps.database['output']}", ok, "steps[1].parameters.x", "reference",
			[]string{"steps.database.output", "did you mean outputs?"}, ""},
		{"step without a name", "${steps}", ok, "steps[1].parameters.x", "reference",
			[]string{"${steps} in step app", "steps.<name>"}, ""},
		{"instance", "${instance.org_unt}", ok, "steps[1].parameters.x", "reference",
			[]string{"instance.org_unt", "did you mean org_unit?"}, ""},
		{"inputs misspelt", "${input.hostname}", ok, "steps[1].parameters.x", "reference",
			[]string{"${input.hostname} in step app", "did you mean inputs?"}, ""},
		{"steps misspelt", "${step.database.id}", ok, "steps[1].parameters.x", "reference",
			[]string{"step.database", "did you mean steps?"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := blueprint.Parse([]byte(refsBlueprint(tc.param, tc.out)))
			e := errs.As(err)
			if err == nil || e.Code != errs.CodeInvalid || len(e.Fields) != 1 {
				t.Fatalf("err = %v, want one problem", err)
			}
			f := e.Fields[0]
			line := 13
			if tc.field == "outputs.o" {
				line = 17
			}
			if f.Field != tc.field || f.Rule != tc.rule || f.Line != line {
				t.Errorf("problem %d:%s:%s, want %d:%s:%s", f.Line, f.Field, f.Rule, line, tc.field, tc.rule)
			}
			for _, w := range tc.want {
				if !strings.Contains(f.Message, w) {
					t.Errorf("message %q does not say %q", f.Message, w)
				}
			}
			if tc.not != "" && strings.Contains(f.Message, tc.not) {
				t.Errorf("message %q says %q", f.Message, tc.not)
			}
		})
	}
}

// Issue 17, item 17: every typo in one expression is reported, and a
// blueprint with no inputs says so.
func TestParseReportsEveryReferenceTypo(t *testing.T) {
	_, err := blueprint.Parse([]byte(`blueprint: refs
name: References
steps:
  - name: db
    plan: bucket/standard
    parameters:
      x: ${inputs.name + steps.nope.id + inputs.name}
`))
	e := errs.As(err)
	if err == nil || len(e.Fields) != 2 {
		t.Fatalf("err = %v, want two problems", err)
	}
	if m := e.Fields[0].Message; !strings.Contains(m, "input name") || !strings.Contains(m, "declares no inputs") {
		t.Errorf("first problem: %q", m)
	}
	if m := e.Fields[1].Message; !strings.Contains(m, "step nope") || !strings.Contains(m, "no step runs before it") {
		t.Errorf("second problem: %q", m)
	}
}

// Issue 17, item 17: what is declared is accepted however it is written,
// and a comprehension's own variables are not taken for references.
func TestParseAcceptsReferences(t *testing.T) {
	for _, x := range []string{
		"${inputs.hostname}", "${inputs['size']}", "${has(inputs.size) ? inputs.size : 'none'}",
		"${steps.database.outputs.endpoint}", "${steps.database.outputs['any-key']}", "${steps.database.provider + steps.database.dashboard_url}",
		"${instance.id + instance.name + instance.org_unit + instance.owner + instance.offering + instance.plan}",
		"${[1, 2].map(inputs, inputs + 1)}", "${[1].exists(steps, steps > 0)}", "${{'a': 1}.all(k, k != '')}",
		"${type(inputs.replicas) == int}", "${steps.database}", "${inputs}",
	} {
		if _, err := blueprint.Parse([]byte(refsBlueprint(x, "${steps.app.id}"))); err != nil {
			t.Errorf("%s: %v", x, err)
		}
	}
}
