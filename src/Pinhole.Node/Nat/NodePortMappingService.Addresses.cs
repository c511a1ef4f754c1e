namespace Pinhole.Node;

public sealed partial class NodePortMappingService
{
    /// <inheritdoc/>
    /// <remarks>Raised on every change of a mapping's state; the node's networks compare the addresses themselves.</remarks>
    public event EventHandler? AddressesChanged;
}
