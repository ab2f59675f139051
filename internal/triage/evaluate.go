package triage

// Evaluate builds a model from the documents and the training tickets and
// measures it on the test tickets: p1 is the share of test tickets whose
// service is the first suggestion, p3 the share whose service is among the
// first three. Both are 0 if there are no test tickets.
func Evaluate(docs []Document, train, test []Example) (p1, p3 float64) {
	return evaluate(defaults, docs, train, test)
}

func evaluate(p params, docs []Document, train, test []Example) (p1, p3 float64) {
	if len(test) == 0 {
		return 0, 0
	}
	m := newModel(p, docs, train)
	var hit1, hit3 int
	for _, e := range test {
		for i, s := range m.Suggest(e.Text, 3, nil) {
			if s.ServiceID == e.ServiceID {
				hit3++
				if i == 0 {
					hit1++
				}
				break
			}
		}
	}
	n := float64(len(test))
	return float64(hit1) / n, float64(hit3) / n
}
