package account

import (
	"testing"
)

// BenchmarkHashPassword measures one password hash with the production
// parameters (Options defaults): the figure to keep near or under 100 ms.
func BenchmarkHashPassword(b *testing.B) {
	s := &Store{o: Options{}.withDefaults(), hashSlots: make(chan struct{}, 1)}
	for b.Loop() {
		if _, err := s.hashPassword(ctx, goodPassword); err != nil {
			b.Fatal(err)
		}
	}
}
