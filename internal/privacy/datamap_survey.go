package privacy

// surveyMap declares the tables of survey definitions and their versions (internal/survey).
func surveyMap() []Field {
	return nil
}
