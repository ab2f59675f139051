package triage

// Terms returns the distinct terms of a text as the model reads a query
// (its first MaxInputBytes and MaxTokens words, normalised and stemmed),
// in the order they first occur: for other relevance measures over the
// same words, such as the knowledge base's (internal/knowledge).
func Terms(text string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range tokenize(text, nil, false, nil) {
		if !seen[t.term] {
			seen[t.term] = true
			out = append(out, t.term)
		}
	}
	return out
}
