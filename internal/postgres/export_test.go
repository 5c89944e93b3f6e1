package postgres

// What search_test.go, an external test (pgtest imports this package),
// needs to see of search.
var (
	SearchSQL      = searchSQL
	CommonSuffixes = commonSuffixes
	CommonVariants = commonVariants
)
