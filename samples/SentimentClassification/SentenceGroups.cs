/// <summary>
/// Groups the phrases of a phrase-level data set (SST-2's training file holds every phrase and sub-phrase of its
/// sentences) by the sentence they come from, so a split by that key holds out whole sentences with all their
/// phrases. A phrase belongs to the longest phrase that contains it (token-aligned); phrases that no other phrase
/// contains are the sentences. For a file of whole sentences every row is its own group.
/// </summary>
public static class SentenceGroups
{
    /// <summary>For each phrase, the text of its sentence (the key to split on).</summary>
    /// <param name="phrases">Whitespace-tokenized phrases (SST-2 style).</param>
    public static string[] SentenceOf(IReadOnlyList<string> phrases)
    {
        var key = new string[phrases.Count];
        var sentences = new List<string>();
        var postings = new Dictionary<string, List<int>>(); // token → sentences that hold it
        var order = Enumerable.Range(0, phrases.Count)
            .OrderByDescending(i => Tokens(phrases[i]).Length).ThenBy(i => phrases[i], StringComparer.Ordinal).ToArray();
        foreach (int i in order)
        {
            string text = string.Join(' ', Tokens(phrases[i]));
            var tokens = Tokens(text).Distinct().ToArray();
            // Candidates: the sentences that hold the phrase's rarest token (a phrase's sentence holds all its tokens).
            List<int>? candidates = null;
            foreach (var t in tokens)
            {
                var list = postings.GetValueOrDefault(t);
                if (list is null) { candidates = null; break; }
                if (candidates is null || list.Count < candidates.Count) candidates = list;
            }
            int found = -1;
            if (candidates is not null && tokens.Length > 0)
                foreach (int s in candidates)
                    if ($" {sentences[s]} ".Contains($" {text} ", StringComparison.Ordinal)) { found = s; break; }
            if (found < 0)
            {
                found = sentences.Count;
                sentences.Add(text);
                foreach (var t in tokens) (postings.TryGetValue(t, out var l) ? l : postings[t] = new List<int>()).Add(found);
            }
            key[i] = sentences[found];
        }
        return key;
    }

    private static string[] Tokens(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
}
