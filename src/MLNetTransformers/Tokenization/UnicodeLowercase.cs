using System.Globalization;
using System.Text;

namespace MLNetTransformers.Tokenization;

/// <summary>
/// Lower case as Hugging Face tokenizers' <c>Lowercase</c> normalizer makes it (Rust's <c>str::to_lowercase</c>): .NET's
/// invariant mapping, plus the two rules of Unicode's full lower-casing it lacks: İ (U+0130) becomes i followed by a
/// combining dot (U+0307), and a Σ that ends a word becomes ς (Final_Sigma: a cased letter before it, none after it,
/// case-ignorable characters such as apostrophes and marks skipped on both sides).
/// </summary>
internal static class UnicodeLowercase
{
    /// <summary><paramref name="text"/> in lower case.</summary>
    /// <param name="text">The text.</param>
    public static string Apply(string text)
    {
        string lower = text.ToLowerInvariant();
        if (text.AsSpan().IndexOfAny('\u0130', 'Σ') < 0) return lower; // the usual text: nothing else to do
        var sb = new StringBuilder(text.Length + 4);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\u0130') sb.Append("i\u0307");
            else if (c == 'Σ') sb.Append(CasedBefore(text, i) && !CasedAfter(text, i + 1) ? 'ς' : 'σ');
            else sb.Append(lower[i]); // invariant lower-casing maps every UTF-16 unit to one
        }
        return sb.ToString();
    }

    private static bool CasedBefore(string text, int end)
    {
        for (int i = end; i > 0;)
        {
            Rune.DecodeLastFromUtf16(text.AsSpan(0, i), out var r, out int width);
            if (!CaseIgnorable(r)) return Cased(r);
            i -= width;
        }
        return false;
    }

    private static bool CasedAfter(string text, int start)
    {
        for (int i = start; i < text.Length;)
        {
            Rune.DecodeFromUtf16(text.AsSpan(i), out var r, out int width);
            if (!CaseIgnorable(r)) return Cased(r);
            i += width;
        }
        return false;
    }

    private static bool Cased(Rune r) => Rune.GetUnicodeCategory(r) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter;

    // Case_Ignorable: marks, format characters, modifier letters and symbols, and the word-internal punctuation of
    // Word_Break MidLetter, MidNumLet and Single_Quote.
    private static bool CaseIgnorable(Rune r) => r.Value is '\'' or '.' or ':' or '\u00B7' or '\u0387' or '\u05F4' or '\u2018' or '\u2019' or '\u2024' or '\u2027'
            or '\uFE13' or '\uFE52' or '\uFE55' or '\uFF07' or '\uFF0E' or '\uFF1A'
        || Rune.GetUnicodeCategory(r) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
            or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol;
}
