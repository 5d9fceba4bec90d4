using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace MLNetTransformers.Tokenization;

/// <summary>
/// The word splitting of Hugging Face's BERT <c>BasicTokenizer</c> over <see cref="BertNormalizer"/>'s output:
/// words end at whitespace, and every punctuation character (Unicode P*, and all of ASCII's non-alphanumeric symbols
/// such as $ + = ^) is a word of its own. Everything else, emoji and other symbols included, stays in its word.
/// </summary>
internal sealed class BertPreTokenizer : PreTokenizer
{
    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => Split(text ?? "");

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text.ToString());

    private static List<(int Offset, int Length)> Split(string text)
    {
        var words = new List<(int, int)>();
        int start = -1, i = 0;
        while (i < text.Length)
        {
            Rune.DecodeFromUtf16(text.AsSpan(i), out var r, out int width);
            if (BertNormalizer.IsWhitespace(r) || IsPunctuation(r))
            {
                if (start >= 0) words.Add((start, i - start));
                start = -1;
                if (!BertNormalizer.IsWhitespace(r)) words.Add((i, width));
            }
            else if (start < 0) start = i;
            i += width;
        }
        if (start >= 0) words.Add((start, text.Length - start));
        return words;
    }

    private static bool IsPunctuation(Rune r)
    {
        int cp = r.Value;
        if (cp is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126) return true;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
            or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }
}
