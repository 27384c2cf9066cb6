package authority

// ForDecisions exposes forDecisions to the memory benchmark.
var ForDecisions = forDecisions
