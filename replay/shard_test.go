package replay

import "testing"

func TestParseShard(t *testing.T) {
	env := func(v string) func(string) string { return func(string) string { return v } }
	tests := []struct {
		in, env string
		want    Shard
		bad     bool
	}{
		{"", "", Shard{}, false},
		{"2/4", "", Shard{2, 4}, false},
		{"4", "3", Shard{3, 4}, false},
		{"4", "", Shard{}, true},
		{"4/4", "", Shard{}, true},
		{"x/2", "", Shard{}, true},
		{"0/0", "", Shard{}, true},
	}
	for _, tt := range tests {
		got, err := ParseShard(tt.in, env(tt.env))
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("ParseShard(%q, env %q) = %v, %v; want %v, bad %v", tt.in, tt.env, got, err, tt.want, tt.bad)
		}
	}
}
