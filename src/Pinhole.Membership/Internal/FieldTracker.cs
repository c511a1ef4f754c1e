namespace Pinhole.Membership.Internal;

/// <summary>
/// Makes protobuf decoding of Pinhole records strict: every field number must be known to the record, and a
/// singular field may appear once. Protobuf's "last one wins" would let two parsers read one signed payload
/// differently; a record is signed bytes, so there is exactly one way to read it.
/// </summary>
internal struct FieldTracker(string record)
{
    private ulong _seen;

    /// <summary>Marks a singular field as seen; a second occurrence is an error.</summary>
    public void Once(int field)
    {
        var bit = Bit(field);
        if ((_seen & bit) != 0)
        {
            throw new FormatException($"{record}: field {field} appears more than once.");
        }
        _seen |= bit;
    }

    /// <summary>Marks a repeated field as seen.</summary>
    public void Repeated(int field) => _seen |= Bit(field);

    /// <summary>True if the field was seen.</summary>
    public readonly bool Has(int field) => (_seen & Bit(field)) != 0;

    /// <summary>Throws unless the field was seen.</summary>
    public readonly void Require(int field, string name)
    {
        if (!Has(field))
        {
            throw new FormatException($"{record}: required field {field} ({name}) is missing.");
        }
    }

    /// <summary>The error for a field number the record does not define.</summary>
    public readonly FormatException Unknown(int field) => new($"{record}: unknown field {field}.");

    private readonly ulong Bit(int field) => field is > 0 and < 64
        ? 1UL << field
        : throw new FormatException($"{record}: unknown field {field}.");
}
