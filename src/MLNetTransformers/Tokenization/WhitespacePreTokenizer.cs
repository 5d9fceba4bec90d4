using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace MLNetTransformers.Tokenization;

/// <summary>
/// Hugging Face tokenizers' <c>Whitespace</c> pre-tokenizer (the pattern <c>\w+|[^\w\s]+</c>: runs of word characters and
/// runs of other non-space characters) and <c>WhitespaceSplit</c> (runs of non-space characters), over whole Unicode
/// characters. Word characters are those of Rust's regex <c>\w</c>: letters and letter numbers, marks, decimal digits,
/// connector punctuation, the zero-width joiners and the other alphabetic symbols (circled and squared Latin letters);
/// spaces are Unicode's White_Space. A .NET regex would see a character beyond U+FFFF as two surrogates, neither a word character.
/// </summary>
/// <param name="splitSymbols">Whether runs of word characters and of other characters are apart (<c>Whitespace</c>) or
/// only spaces separate (<c>WhitespaceSplit</c>).</param>
internal sealed class WhitespacePreTokenizer(bool splitSymbols) : PreTokenizer
{
    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => Split(text ?? "");

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text.ToString());

    private List<(int Offset, int Length)> Split(string text)
    {
        var words = new List<(int, int)>();
        int start = -1, i = 0;
        bool runOfWord = false;
        while (i < text.Length)
        {
            Rune.DecodeFromUtf16(text.AsSpan(i), out var r, out int width);
            if (IsWhiteSpace(r.Value))
            {
                if (start >= 0) words.Add((start, i - start));
                start = -1;
            }
            else
            {
                bool word = splitSymbols && IsWordCharacter(r);
                if (start >= 0 && word != runOfWord)
                {
                    words.Add((start, i - start));
                    start = -1;
                }
                if (start < 0) (start, runOfWord) = (i, word);
            }
            i += width;
        }
        if (start >= 0) words.Add((start, text.Length - start));
        return words;
    }

    // Unicode's White_Space property (Rust's \s and char::is_whitespace).
    internal static bool IsWhiteSpace(int cp) => cp is >= 0x09 and <= 0x0D or 0x20 or 0x85 or 0xA0 or 0x1680 or >= 0x2000 and <= 0x200A
        or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000;

    // Rust's regex \w: Alphabetic (letters, letter numbers and the alphabetic symbols Ⓐ-ⓩ, 🄰-🅉, 🅐-🅩, 🅰-🆉), marks,
    // decimal digits, connector punctuation and Join_Control.
    private static bool IsWordCharacter(Rune r)
    {
        int cp = r.Value;
        if (cp is 0x200C or 0x200D or >= 0x24B6 and <= 0x24E9 or >= 0x1F130 and <= 0x1F149 or >= 0x1F150 and <= 0x1F169 or >= 0x1F170 and <= 0x1F189) return true;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.LetterNumber or UnicodeCategory.NonSpacingMark
            or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ConnectorPunctuation;
    }
}
