import MonCore

/// One interface of `/proc/net/dev`: cumulative traffic since the interface appeared.
public struct NetDevStats: Sendable, Hashable {
    public var interface: String
    public var receiveBytes: UInt64
    public var receivePackets: UInt64
    public var receiveErrors: UInt64
    public var receiveDrop: UInt64
    public var transmitBytes: UInt64
    public var transmitPackets: UInt64
    public var transmitErrors: UInt64
    public var transmitDrop: UInt64

    public init(
        interface: String, receiveBytes: UInt64, receivePackets: UInt64, receiveErrors: UInt64, receiveDrop: UInt64,
        transmitBytes: UInt64, transmitPackets: UInt64, transmitErrors: UInt64, transmitDrop: UInt64
    ) {
        self.interface = interface
        self.receiveBytes = receiveBytes
        self.receivePackets = receivePackets
        self.receiveErrors = receiveErrors
        self.receiveDrop = receiveDrop
        self.transmitBytes = transmitBytes
        self.transmitPackets = transmitPackets
        self.transmitErrors = transmitErrors
        self.transmitDrop = transmitDrop
    }
}
