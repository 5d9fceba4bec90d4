using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace MLNetTransformers.Tokenization;

/// <summary>
/// The text normalization of Hugging Face's BERT <c>BasicTokenizer</c>, rule for rule: drop NUL, U+FFFD and control
/// characters, turn whitespace into spaces, put spaces around CJK ideographs, NFC; for uncased vocabularies, lower-case
/// (Σ ending a word becomes ς) and strip accents (NFD, then drop non-spacing marks). With <see cref="BertPreTokenizer"/>
/// it gives the ids the reference tokenizer gives (tested on hard texts against a port kept in the repository).
/// </summary>
internal sealed class BertNormalizer(bool lowerCase) : Normalizer
{
    public override string Normalize(string original) => Normalize(original.AsSpan());

    public override string Normalize(ReadOnlySpan<char> original)
    {
        var sb = new StringBuilder(original.Length + 8);
        foreach (var rune in original.EnumerateRunes())
        {
            int cp = rune.Value;
            if (cp == 0 || cp == 0xFFFD || IsControl(rune)) continue;
            if (IsWhitespace(rune)) sb.Append(' ');
            else if (IsCjk(cp)) sb.Append(' ').Append(rune.ToString()).Append(' ');
            else sb.Append(rune.ToString());
        }
        string text = sb.ToString().Normalize(NormalizationForm.FormC);
        if (!lowerCase) return text;
        text = UnicodeLowercase.Apply(text).Normalize(NormalizationForm.FormD); // Python's str.lower() lower-cases as Rust's does
        sb.Clear();
        foreach (char c in text)
            if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark) sb.Append(c);
        return sb.ToString();
    }

    internal static bool IsWhitespace(Rune r) => r.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(r) == UnicodeCategory.SpaceSeparator;

    private static bool IsControl(Rune r)
    {
        if (r.Value is '\t' or '\n' or '\r') return false;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    internal static bool IsCjk(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}
