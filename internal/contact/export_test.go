package contact

// GenBenchCSV is genBenchCSV, for the external tests.
var GenBenchCSV = genBenchCSV

// SetAnalyseEvery changes, for a test, how many contacts an import creates
// before it first has PostgreSQL analyse its tables.
func SetAnalyseEvery(n int) (restore func()) {
	old := analyseEvery
	analyseEvery = n
	return func() { analyseEvery = old }
}
