// Command gencsv writes a contact CSV for the import benchmark: N rows of 8
// columns (CRM id, email, phone, first and last name, language, country,
// store), all fake (example.com, the +33 1 99 fiction range).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
)

func main() {
	n := flag.Int("rows", 1000000, "rows to write")
	flag.Parse()
	first := []string{"Camille", "Léa", "Hugo", "Chloé", "Lucas", "Manon", "Théo", "Inès", "Jules", "Zoé", "Anna", "Lukas", "Sofía", "Giulia", "João"}
	last := []string{"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Müller", "García", "Rossi", "Silva"}
	stores := []string{"Lyon", "Paris", "Nice", "Lille", "Nantes", "Berlin", "Madrid", "Rome"}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	fmt.Fprintln(w, "id,email,phone,first_name,last_name,language,country,store")
	for i := range *n {
		f, l := first[i%len(first)], last[(i/7)%len(last)]
		fmt.Fprintf(w, "CRM%07d,contact.%d@example.com,+33199%06d,%s,%s,fr,FR,%s\n", i, i, i%1000000, f, l, stores[i%len(stores)])
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
