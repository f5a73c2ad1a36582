# bench/scoring/perf_phases.awk — where the time of a profiled COPY goes:
# for each function named in `parents` (space-separated), the share of all
# samples spent in it and in each of its direct callees (frames without a
# symbol — static functions of a stripped postgres — are skipped over).
#
#   perf script -F ip,sym | awk -v parents="CopyFrom batch_apply" -f perf_phases.awk | sort ...
#
# Input: one sample per paragraph, frames leaf first.  Output lines:
#   <parent order> <share %> <parent> <callee>    ("(self)" = the parent itself)
BEGIN {
	RS = ""
	FS = "\n"
	nparents = split(parents, plist, " ")
}
{
	samples++
	n = 0
	for (i = 1; i <= NF; i++) {
		line = $i
		sub(/^[ \t]*[0-9a-f]+[ \t]+/, "", line)
		if (line == "")
			continue
		frame[++n] = line
	}
	for (p = 1; p <= nparents; p++) {
		# deepest (closest to the leaf) occurrence of the parent
		for (i = 1; i <= n; i++)
			if (frame[i] == plist[p])
				break
		if (i > n)
			continue
		callee = "(self)"
		for (j = i - 1; j >= 1; j--)
			if (frame[j] !~ /^\[unknown\]/) {
				callee = frame[j]
				break
			}
		within[p]++
		count[p, callee]++
		seen[p, callee] = 1
	}
}
END {
	for (p = 1; p <= nparents; p++) {
		printf "%d %6.1f %s %s\n", p, 100 * within[p] / samples, plist[p], "(total)"
		for (key in seen) {
			split(key, kv, SUBSEP)
			if (kv[1] == p && count[key] * 1000 >= samples)	# at least 0.1%
				printf "%d %6.1f %s %s\n", p, 100 * count[key] / samples, plist[p], kv[2]
		}
	}
}
