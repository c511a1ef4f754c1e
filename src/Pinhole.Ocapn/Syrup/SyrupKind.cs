namespace Pinhole.Ocapn.Syrup;

/// <summary>The eleven kinds of Syrup value (ocapn/syrup draft-specification.md).</summary>
public enum SyrupKind
{
    /// <summary><c>t</c> or <c>f</c>.</summary>
    Boolean,
    /// <summary><c>F</c> + IEEE-754 single, big-endian.</summary>
    Float,
    /// <summary><c>D</c> + IEEE-754 double, big-endian.</summary>
    Double,
    /// <summary>Decimal digits + <c>+</c> or <c>-</c>, any size.</summary>
    Integer,
    /// <summary><c>len:</c> + octets.</summary>
    ByteString,
    /// <summary><c>len"</c> + UTF-8.</summary>
    String,
    /// <summary><c>len'</c> + UTF-8.</summary>
    Symbol,
    /// <summary><c>[</c> items <c>]</c>.</summary>
    List,
    /// <summary><c>{</c> key value ... <c>}</c>, keys sorted by their encoding.</summary>
    Dictionary,
    /// <summary><c>#</c> items <c>$</c>, items sorted by their encoding.</summary>
    Set,
    /// <summary><c>&lt;</c> label fields <c>&gt;</c>.</summary>
    Record,
}
