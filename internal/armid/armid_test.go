package armid

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want Parsed
	}{
		{Registry("myreg"), true, Parsed{Registry: "myreg"}},
		{"/subscriptions/1111/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r1", true, Parsed{Registry: "r1"}},
		{"/SUBSCRIPTIONS/1111/resourcegroups/rg/providers/microsoft.containerregistry/Registries/r1", true, Parsed{Registry: "r1"}},
		{Child("r1", "scopeMaps", "m"), true, Parsed{Registry: "r1", Kind: "scopeMaps", Name: "m"}},
		{"/subscriptions/1111", true, Parsed{}},
		{"/subscriptions/1111/resourceGroups/rg", true, Parsed{}},
		{"/subscriptions/1111/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/x", false, Parsed{}},
		{"/subscriptions//resourceGroups/rg", false, Parsed{}},
		{"/registries/r1", false, Parsed{}},
		{"subscriptions/1/resourceGroups/rg", false, Parsed{}},
		{"/subscriptions/1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/", false, Parsed{}},
		{"", false, Parsed{}},
	}
	for _, tt := range tests {
		got, ok := Parse(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Registry("r"))
	f.Add(Child("r", "tokens", "t"))
	f.Add("/subscriptions/x/resourceGroups/y")
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := Parse(s)
		if !ok {
			return
		}
		if p.Registry != "" {
			if q, ok := Parse(Registry(p.Registry)); !ok || q.Registry != p.Registry {
				t.Fatalf("%q: registry %q does not round-trip", s, p.Registry)
			}
		}
	})
}
